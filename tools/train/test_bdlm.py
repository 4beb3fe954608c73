"""The training objective sees exactly what the decoder sees: logits of a masked block in
[x_t ; x_0] equal an inference forward over clean earlier blocks plus that block."""

import torch

import bdlm


def tiny():
    cfg = bdlm.lm_config(vocab_size=64, hidden=32, layers=2, heads=4, kv_heads=2, head_dim=8, intermediate=64,
                         block_size=4)
    return bdlm.new_lm(cfg, seed=1).eval()


def test_training_matches_inference():
    lm = tiny()
    g = torch.Generator().manual_seed(0)
    L, P = 19, 7
    ids = torch.randint(4, 64, (2, L), generator=g)
    resp = torch.zeros((2, L), dtype=torch.bool)
    resp[0, P:] = True
    resp[1, P:L - 3] = True  # row 1 is padded
    ids[1, L - 3:] = bdlm.PAD_ID
    ids[1, :6] = ids[0, :6]  # a shared prefix of 6 tokens
    for b, shared, comp in ((4, 0, False), (1, 0, False), (4, 6, True), (1, 6, False), (4, 3, True)):
        noise = bdlm.sample_noise(resp, b, g)
        noises = [noise, resp & ~noise] if comp else [noise]
        with torch.no_grad():
            logits, target = bdlm.bd_forward(lm, ids, resp, noises, b, shared=shared)
        k = 0
        for r, noise, p in ((r, n, p) for r in range(2) for n in noises for p in range(L)):
                if not noise[r, p]:
                    continue
                end = min((p // b + 1) * b, L)
                x = ids[r, :end].clone()
                x[(p // b) * b:end][noise[r, (p // b) * b:end]] = bdlm.MASK_ID
                blk = torch.arange(end) // b
                with torch.no_grad():
                    out = lm.model(input_ids=x[None], attention_mask=bdlm.additive((blk[:, None] >= blk[None, :])[None]),
                                   position_ids=torch.arange(end)[None])
                    want = lm.lm_head(out.last_hidden_state[0, p])
                assert target[k] == ids[r, p]
                assert torch.allclose(logits[k], want, atol=1e-5), (b, shared, r, p, (logits[k] - want).abs().max())
                k += 1
        assert k == len(target)


def test_generate_and_loss_run():
    lm = tiny()
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(4, 64, (3, 12), generator=g)
    resp = torch.zeros((3, 12), dtype=torch.bool)
    resp[:, 5:] = True
    ids[:, :4] = ids[0, :4]
    loss = bdlm.bd_loss(lm, ids, resp, g, shared=4)
    loss.backward()
    assert all(p.grad is not None for p in lm.parameters())
    assert torch.isfinite(loss)
    out, fwd = bdlm.generate(lm, [5, 6, 7, 8, 9], max_new=8)
    out2, fwd2 = bdlm.generate(lm, [5, 6, 7, 8, 9], max_new=8, threshold=0.0)
    assert fwd >= len(out) and fwd2 <= fwd
