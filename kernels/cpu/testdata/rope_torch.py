# Regenerates rope_torch.txt (needs torch): python rope_torch.py > rope_torch.txt
import torch, struct
print("# torch", torch.__version__, "HF default RoPE: inv_freq, then cos/sin of float32(pos)*inv_freq, float32 bits in hex")
print("# headDim theta pos i cos sin ; lines 'inv headDim theta i bits'")
for d, theta in ((128, 1e6), (64, 1e4), (16, 500.0)):
    inv = 1.0 / (theta ** (torch.arange(0, d, 2, dtype=torch.int64).float() / d))
    for i, v in enumerate(inv.tolist()):
        print("inv", d, theta, i, struct.pack('>f', v).hex())
    pos = torch.tensor([[0, 1, 7, 1000, 4095, 30000, 131071]], dtype=torch.int64)
    f = (inv[None, :, None].float() @ pos[:, None, :].float()).transpose(1, 2)
    emb = torch.cat((f, f), dim=-1)
    c, s = emb.cos(), emb.sin()
    for pi, p in enumerate(pos[0].tolist()):
        for i in range(d // 2):
            print("cs", d, theta, p, i, struct.pack('>f', c[0, pi, i].item()).hex(), struct.pack('>f', s[0, pi, i].item()).hex())
