#!/usr/bin/env python3
"""PyTorch peer of `dlmstream bench`: one forward of a Qwen3/SDAR decoder at
the same dimensions, on random bf16 weights, timed on the CPU (or on a CUDA
GPU: --device).

A forward is what qwen.BlockStep times on our side: `tokens` new rows at
positions ctx..ctx+tokens-1 against a KV cache whose first ctx positions hold
random keys and values. Per layer: RMSNorm, q/k/v projections, per-head q/k
RMSNorm, RoPE, the new keys and values written into the cache, grouped-query
attention (scaled_dot_product_attention) under the model's block-causal mask,
o projection, residual, RMSNorm, SwiGLU MLP, residual; then the final norm
and the LM head on every new row, logits as fp32 (ours returns fp32 logits
for every row of the block, as a denoising step needs). The weights are bf16
tensors multiplied with torch.nn.functional.linear (oneDNN bf16 GEMM on CPUs
with AVX512_BF16 / AMX), as Hugging Face's Qwen3 model runs them in eager
mode; nothing is fused by hand and nothing is compiled.

Standalone it prints a table. With --serve it speaks the line protocol that
`dlmstream bench --peer` drives: one JSON line {"ready": true, ...} once the
weights are built, then for each request line {"tokens": k, "iters": n} one
line {"tokens": k, "ms": [n timings]} (after one untimed warm-up forward), or
{"error": "..."}; it exits at end of input. Exit status 3: torch is missing.

--device (default cpu; cuda or cuda:N) builds the weights, KV caches, RoPE
tables, masks and inputs on that device; on CUDA the random weights come from
a CUDA generator seeded with --seed (so they differ from the CPU's), and each
timed forward is bracketed by torch.cuda.synchronize(). Where torch sees no
CUDA device it exits with status 2 and a one-line error. --cuda-graphs (CUDA
only) captures, per block size, one forward (static token input, the same
positions and mask) into a torch.cuda.CUDAGraph after warm-ups on a side
stream, and times g.replay() instead; every replay writes the block's keys
and values at the same cache positions ctx..ctx+k-1, as the eager forward
does. The info line gains "device" (torch.cuda.get_device_name, or "cpu")
and "cuda_graphs". The defaults are SDAR-1.7B's dimensions; SDAR-8B's
(Qwen3-8B: untied head, rope theta 1e6, eps 1e-6) are --hidden 4096
--layers 36 --heads 32 --kv-heads 8 --head-dim 128 --intermediate 12288
--vocab 151936.
"""

import argparse
import json
import math
import os
import re
import sys
import time


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--serve", action="store_true", help="line protocol on stdin/stdout (for dlmstream bench --peer)")
    p.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0: torch's default)")
    p.add_argument("--context", type=int, default=512, help="committed positions in the KV cache")
    p.add_argument("--tokens", default="1,4,8,32", help="block sizes to time (standalone)")
    p.add_argument("--iters", type=int, default=5, help="timed forwards per block size (standalone)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--device", type=device_arg, default="cpu",
                   help="cpu, cuda or cuda:N: where the weights, caches and inputs live and the forward runs")
    p.add_argument("--cuda-graphs", action="store_true",
                   help="with a CUDA --device: time replays of one captured CUDA graph per block size")
    # SDAR-1.7B (Qwen3-1.7B dimensions, untied head, block size 4): qwen.SDAR17B.
    p.add_argument("--hidden", type=int, default=2048)
    p.add_argument("--layers", type=int, default=28)
    p.add_argument("--heads", type=int, default=16)
    p.add_argument("--kv-heads", type=int, default=8)
    p.add_argument("--head-dim", type=int, default=128)
    p.add_argument("--intermediate", type=int, default=6144)
    p.add_argument("--vocab", type=int, default=151936)
    p.add_argument("--rope-theta", type=float, default=1e6)
    p.add_argument("--eps", type=float, default=1e-6)
    p.add_argument("--mask-block", type=int, default=4,
                   help="block-causal mask block (SDAR's block size); 0: every new row sees every key")
    p.add_argument("--tied", action="store_true", help="LM head shares the embedding")
    p.add_argument("--attention", choices=("fold", "gqa"), default="fold",
                   help="fold: one SDPA per KV head over the rows of its query heads (no K/V copies; the faster "
                        "here at 1 token); gqa: SDPA with enable_gqa=True, as Hugging Face calls it")
    a = p.parse_args(argv)
    if a.cuda_graphs and not a.device.startswith("cuda"):
        fail(f"--cuda-graphs needs a CUDA --device (got --device {a.device})")
    return a


def device_arg(s):
    if not re.fullmatch(r"cpu|cuda(:[0-9]+)?", s):
        raise argparse.ArgumentTypeError(f"{s!r} is not cpu, cuda or cuda:N")
    return s


def fail(msg):
    """A one-line error on stderr, exit status 2 (as argparse's)."""
    print(f"peer.py: {msg}", file=sys.stderr)
    sys.exit(2)


def check_device(a, torch):
    """Fails in one line where the CUDA device asked for is not there."""
    if not a.device.startswith("cuda"):
        return
    if not torch.cuda.is_available():
        built = f"built with CUDA {torch.version.cuda}" if torch.version.cuda else "a CPU-only build"
        fail(f"--device {a.device}: CUDA is not available (torch {torch.__version__}, {built}, "
             f"{torch.cuda.device_count()} CUDA devices visible)")
    n = torch.cuda.device_count()
    i = int(a.device.split(":")[1]) if ":" in a.device else 0
    if i >= n:
        fail(f"--device {a.device}: CUDA device {i} does not exist ({n} visible)")


def die_no_torch(err):
    req = os.path.join(os.path.dirname(os.path.abspath(__file__)), "requirements.txt")
    if not os.path.exists(req):
        req = "tools/bench/requirements.txt"
    print(f"peer.py: torch is not importable by {sys.executable} ({err}); "
          f"install it with: {sys.executable} -m pip install -r {req}", file=sys.stderr)
    sys.exit(3)


class Peer:
    def __init__(self, a, torch):
        self.a, self.torch = a, torch
        F = torch.nn.functional
        self.F = F
        bf = torch.bfloat16
        dev = torch.device(a.device)
        self.cuda = dev.type == "cuda"
        if self.cuda:
            if dev.index is None:
                dev = torch.device("cuda", torch.cuda.current_device())
            torch.cuda.set_device(dev)
        self.dev = dev
        g = torch.Generator(device=dev).manual_seed(a.seed)
        H, D, I, V = a.hidden, a.head_dim, a.intermediate, a.vocab
        qd, kvd = a.heads * D, a.kv_heads * D

        def mat(rows, cols):  # uniform, std 1/sqrt(cols), as qwen.Random
            lim = math.sqrt(3.0 / cols)
            return torch.empty(rows, cols, dtype=bf, device=dev).uniform_(-lim, lim, generator=g)

        def vec(n, center):
            return (center + 0.1 * torch.randn(n, generator=g, device=dev)).to(bf)

        self.weight_bytes = 0

        def linear(rows, cols):
            w = mat(rows, cols)
            self.weight_bytes += w.numel() * w.element_size()
            return w

        self.embed = mat(V, H)
        self.layers = []
        for _ in range(a.layers):
            self.layers.append(dict(
                in_norm=vec(H, 1), post_norm=vec(H, 1), q_norm=vec(D, 1), k_norm=vec(D, 1),
                q=linear(qd, H), k=linear(kvd, H), v=linear(kvd, H), o=linear(H, qd),
                gate=linear(I, H), up=linear(I, H), down=linear(H, I)))
        self.norm = vec(H, 1)
        if a.tied:
            self.lm_head = self.embed
            self.weight_bytes += self.embed.numel() * self.embed.element_size()
        else:
            self.lm_head = linear(V, H)
        self.g = g
        self.cap = 0
        self.rope_cap = 0
        self.graphs = {}  # k -> (CUDAGraph, static tokens, static logits), with --cuda-graphs

    def ensure(self, k):
        """KV cache of ctx random committed positions (+ room for k new rows)
        and the RoPE table, grown when a larger block is asked for."""
        torch, a = self.torch, self.a
        need = a.context + k
        if need > self.cap:
            bf, dev = torch.bfloat16, self.dev
            # Captured graphs write into the old caches: drop them (and their
            # pools) before those caches are freed.
            self.graphs.clear()
            for L in self.layers:
                L["kc"] = L["vc"] = None
                L["kc"] = torch.randn(1, a.kv_heads, need, a.head_dim, generator=self.g, device=dev).to(bf)
                L["vc"] = torch.randn(1, a.kv_heads, need, a.head_dim, generator=self.g, device=dev).to(bf)
            self.cap = need
            # As Hugging Face computes it: fp32 angles, cos/sin cast to the model dtype.
            inv = 1.0 / (a.rope_theta ** (torch.arange(0, a.head_dim, 2, dtype=torch.float32, device=dev) / a.head_dim))
            f = torch.outer(torch.arange(need, dtype=torch.float32, device=dev), inv)
            emb = torch.cat((f, f), dim=-1)
            self.cos, self.sin = emb.cos().to(bf), emb.sin().to(bf)

    def mask(self, pos, k):
        """Boolean [k, pos+k] block-causal mask (True: attend; with --attention
        fold, repeated for each query head of a KV group), None when every row
        sees every key (then SDPA takes its unmasked path)."""
        torch, B = self.torch, self.a.mask_block
        if B <= 0:
            return None
        qpos = torch.arange(pos, pos + k)
        limit = (qpos // B + 1) * B  # a row sees keys before the end of its block
        m = torch.arange(pos + k)[None, :] < limit[:, None]
        if bool(m.all()):
            return None
        m = m.repeat(self.a.heads // self.a.kv_heads, 1) if self.a.attention == "fold" else m
        return m.to(self.dev)

    def rms(self, x, w):
        # Qwen3RMSNorm: fp32 variance, normalized value cast back, times weight.
        torch = self.torch
        dt = x.dtype
        x32 = x.to(torch.float32)
        x32 = x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + self.a.eps)
        return w * x32.to(dt)

    @staticmethod
    def rotate_half(x, torch):
        h = x.shape[-1] // 2
        return torch.cat((-x[..., h:], x[..., :h]), dim=-1)

    def forward(self, toks, pos, mask):
        torch, F, a = self.torch, self.F, self.a
        k = toks.shape[0]
        D, Nq, Nkv = a.head_dim, a.heads, a.kv_heads
        x = F.embedding(toks, self.embed)  # [k, H]
        cos, sin = self.cos[pos:pos + k][None], self.sin[pos:pos + k][None]  # [1, k, D]
        end = pos + k
        for L in self.layers:
            h = self.rms(x, L["in_norm"])
            q = self.rms(F.linear(h, L["q"]).view(k, Nq, D), L["q_norm"]).transpose(0, 1)  # [Nq, k, D]
            kk = self.rms(F.linear(h, L["k"]).view(k, Nkv, D), L["k_norm"]).transpose(0, 1)
            v = F.linear(h, L["v"]).view(k, Nkv, D).transpose(0, 1)
            q = q * cos + self.rotate_half(q, torch) * sin
            kk = kk * cos + self.rotate_half(kk, torch) * sin
            L["kc"][0, :, pos:end] = kk
            L["vc"][0, :, pos:end] = v
            kc, vc = L["kc"][:, :, :end], L["vc"][:, :, :end]
            if a.attention == "fold":  # query head h reads KV head h // (Nq/Nkv): its group's rows side by side
                att = F.scaled_dot_product_attention(q.reshape(1, Nkv, Nq // Nkv * k, D), kc, vc, attn_mask=mask)
            else:
                att = F.scaled_dot_product_attention(q[None], kc, vc, attn_mask=mask, enable_gqa=True)
            x = x + F.linear(att.view(Nq, k, D).transpose(0, 1).reshape(k, Nq * D), L["o"])
            h = self.rms(x, L["post_norm"])
            x = x + F.linear(F.silu(F.linear(h, L["gate"])) * F.linear(h, L["up"]), L["down"])
        return F.linear(self.rms(x, self.norm), self.lm_head).float()  # [k, V]

    def sync(self):
        if self.cuda:
            self.torch.cuda.synchronize()

    def graph(self, k):
        """The CUDA graph of one k-token forward (the standard recipe: warm-ups
        on a side stream, then the capture), its static input and output."""
        torch, a = self.torch, self.a
        if k in self.graphs:
            return self.graphs[k]
        toks = torch.randint(0, a.vocab, (k,), generator=self.g, device=self.dev)
        mask = self.mask(a.context, k)
        s = torch.cuda.Stream()
        s.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(s):
            for _ in range(3):
                self.forward(toks, a.context, mask)
        torch.cuda.current_stream().wait_stream(s)
        g = torch.cuda.CUDAGraph()
        with torch.cuda.graph(g):
            logits = self.forward(toks, a.context, mask)
        self.graphs[k] = (g, toks, logits)
        return self.graphs[k]

    def time(self, k, iters):
        torch, a = self.torch, self.a
        self.ensure(k)
        out = []
        with torch.inference_mode():
            if a.cuda_graphs:
                g, _, logits = self.graph(k)
                run = g.replay
                run()  # warm-up
            else:
                toks = torch.randint(0, a.vocab, (k,), generator=self.g, device=self.dev)
                mask = self.mask(a.context, k)

                def run():
                    self.forward(toks, a.context, mask)
                logits = self.forward(toks, a.context, mask)  # warm-up
            if not bool(torch.isfinite(logits).all()):
                raise RuntimeError("non-finite logits")
            for _ in range(iters):
                self.sync()
                t = time.perf_counter()
                run()
                self.sync()
                out.append((time.perf_counter() - t) * 1e3)
        return out


def flops(a, k):
    """Multiply-adds x2 of one forward, as qwen.ForwardFLOPs counts them."""
    H, D, I, V = a.hidden, a.head_dim, a.intermediate, a.vocab
    q, kv = a.heads * D, a.kv_heads * D
    per_layer = H * q + 2 * H * kv + q * H + 3 * H * I
    attn = 2 * a.heads * D * (a.context + k)
    return 2 * k * (a.layers * (per_layer + attn) + H * V)


def main(argv):
    a = parse_args(argv)
    try:
        import torch
    except ImportError as e:
        die_no_torch(e)
    check_device(a, torch)
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    t0 = time.perf_counter()
    peer = Peer(a, torch)
    peer.ensure(max(int(t) for t in a.tokens.split(",")) if a.tokens else 1)
    peer.sync()
    info = dict(ready=True, torch=torch.__version__, python=sys.version.split()[0], executable=sys.executable,
                threads=torch.get_num_threads(), cpu_capability=torch.backends.cpu.get_cpu_capability(),
                mkldnn_bf16=bool(torch.ops.mkldnn._is_mkldnn_bf16_supported()),
                device=torch.cuda.get_device_name(peer.dev) if peer.cuda else "cpu", cuda_graphs=a.cuda_graphs,
                weight_bytes=peer.weight_bytes, build_s=round(time.perf_counter() - t0, 2))
    if a.serve:
        print(json.dumps(info), flush=True)
        for line in sys.stdin:
            line = line.strip()
            if not line:
                continue
            try:
                req = json.loads(line)
                k, n = int(req["tokens"]), int(req["iters"])
                if k <= 0 or n <= 0:
                    raise ValueError(f"tokens {k}, iters {n}")
                resp = dict(tokens=k, ms=[round(t, 3) for t in peer.time(k, n)])
            except Exception as e:  # reported to the driver, which stops
                resp = dict(error=f"{type(e).__name__}: {e}")
            print(json.dumps(resp), flush=True)
        return
    if peer.cuda:
        where = f"{info['device']} ({a.device}, CUDA {torch.version.cuda}{', CUDA graphs' if a.cuda_graphs else ', eager'})"
    else:
        where = f"{info['threads']} threads, CPU capability {info['cpu_capability']}, mkldnn bf16 {info['mkldnn_bf16']}"
    print(f"torch {info['torch']}, {where}; weights read per forward {peer.weight_bytes / 1e9:.2f} GB "
          f"(built in {info['build_s']} s); context {a.context}")
    print(f"{'tokens':>6} {'median_ms':>10} {'min_ms':>10} {'weight_GB/s':>12} {'GFLOP/s':>9}")
    prec = 3 if peer.cuda else 1  # GPU forwards take a few ms
    for k in (int(t) for t in a.tokens.split(",")):
        ts = sorted(peer.time(k, a.iters))
        med = ts[len(ts) // 2]
        print(f"{k:>6} {med:>10.{prec}f} {ts[0]:>10.{prec}f} {peer.weight_bytes / med / 1e6:>12.1f} "
              f"{flops(a, k) / med / 1e6:>9.1f}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
