"""Train the vision demo checkpoint (issue 5): one command, fixed seeds, one CPU thread.

    python tools/train/vision/train.py --out testdata/models/demo-vision

Scenes are rendered on the fly (scenes.py, training seed range); the tokenizer is trained
first on captions of the first 20000 training seeds plus the prompt. The loss curve goes to
<out>/train.log. The held-out set is made separately by make_heldout.py.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, ".."))
import bdlm  # noqa: E402
import model as vm  # noqa: E402
import scenes  # noqa: E402

VAL_SEED0 = 1_000_000_000  # a few validation scenes logged during training (not the held-out set)


def build_tokenizer(vocab_size):
    # Labels enter the tokenizer corpus as their first character only, so BPE learns no
    # letter pairs: a label is always read out one capital letter (or digit) per token.
    texts = [scenes.make_caption(s, short_label=True) for s in range(20000)]
    texts += ["user\n" + vm.PROMPT + "\nassistant\n"] * 50
    return bdlm.train_tokenizer(texts, vocab_size, extra_specials=[vm.IMAGE_PAD])


def batch(seeds, tok, prompt, n_img):
    """ids [B,L], resp [B,L] bool, pixel_values [B,3,S,S]."""
    rows, pix = [], []
    for s in seeds:
        img, cap = scenes.make(s)
        rows.append(tok.encode(cap).ids + [bdlm.IM_END_ID])
        pix.append(vm.pixels(img))
    P = len(prompt)
    L = P + max(len(r) for r in rows)
    ids = torch.full((len(rows), L), bdlm.PAD_ID, dtype=torch.long)
    resp = torch.zeros((len(rows), L), dtype=torch.bool)
    for i, r in enumerate(rows):
        ids[i, :P] = torch.tensor(prompt)
        ids[i, P:P + len(r)] = torch.tensor(r)
        resp[i, P:P + len(r)] = True
    return ids, resp, torch.stack(pix)


@torch.no_grad()
def quick_eval(model, tok, prompt, n, threshold):
    model.eval()
    ok = 0
    fw = 0
    ntok = 0
    for k in range(n):
        img, cap = scenes.make(VAL_SEED0 + k)
        ids = torch.tensor(prompt)[None]
        e = model.embed(ids, vm.pixels(img)[None])[0]
        out, f = bdlm.generate(model.language_model, prompt, 64, threshold=threshold, prefix_embeds=e)
        ok += tok.decode(out) == cap
        fw += f
        ntok += len(out) + 1
    model.train()
    return ok / n, ntok / max(fw, 1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--steps", type=int, default=1400)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--warmup", type=int, default=60)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--vocab", type=int, default=640)
    ap.add_argument("--image-size", type=int, default=scenes.CANVAS)
    ap.add_argument("--patch", type=int, default=8)
    ap.add_argument("--v-hidden", type=int, default=128)
    ap.add_argument("--v-layers", type=int, default=3)
    ap.add_argument("--hidden", type=int, default=160)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--eval-every", type=int, default=200)
    ap.add_argument("--log-every", type=int, default=10)
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    os.makedirs(args.out, exist_ok=True)
    log = open(os.path.join(args.out, "train.log"), "w")

    def say(msg):
        print(msg, flush=True)
        log.write(msg + "\n")
        log.flush()

    t0 = time.time()
    tok = build_tokenizer(args.vocab)
    vocab = tok.get_vocab_size()
    vcfg = vm.vision_config(args.image_size, args.patch, args.v_hidden, args.v_layers, 4, 4 * args.v_hidden)
    heads = 4
    tcfg = bdlm.lm_config(vocab, args.hidden, args.layers, heads, 2, args.hidden // heads, 3 * args.hidden,
                          block_size=4, max_pos=256)
    model = vm.VisionCaptioner(vcfg, tcfg, seed=args.seed)
    prompt = vm.prompt_ids(tok, model.n_image_tokens)
    say(f"# vision demo: {vars(args)}")
    say(f"# vocab {vocab}, image tokens {model.n_image_tokens}, prompt {len(prompt)} tokens, params {vm.param_counts(model)}")
    say("step,loss,lr,elapsed_s")

    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.98), eps=1e-8)
    gen = torch.Generator().manual_seed(args.seed)
    model.train()
    run = 0.0
    for step in range(args.steps):
        lr = bdlm.cosine_lr(step, args.steps, args.lr, args.warmup)
        for g in opt.param_groups:
            g["lr"] = lr
        seeds = range(step * args.batch, (step + 1) * args.batch)
        ids, resp, pix = batch(seeds, tok, prompt, model.n_image_tokens)
        embeds = model.embed(ids, pix)
        loss = bdlm.bd_loss(model.language_model, ids, resp, gen, embeds=embeds)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        run = loss.item() if step == 0 else 0.95 * run + 0.05 * loss.item()
        if step % args.log_every == 0 or step == args.steps - 1:
            say(f"{step},{loss.item():.4f},{lr:.6f},{time.time() - t0:.1f}")
        if args.eval_every and (step + 1) % args.eval_every == 0 and step + 1 < args.steps:
            em, tpf = quick_eval(model, tok, prompt, 24, 0.9)
            say(f"# step {step + 1}: smoothed loss {run:.4f}, val exact-match {em:.3f} (24 scenes, threshold 0.9, "
                f"{tpf:.2f} tokens/forward), elapsed {time.time() - t0:.0f}s")
    em, tpf = quick_eval(model, tok, prompt, 48, 0.9)
    say(f"# final: smoothed loss {run:.4f}, val exact-match {em:.3f} (48 scenes, threshold 0.9, {tpf:.2f} tokens/forward)")
    say(f"# training wall time {time.time() - t0:.0f}s (1 thread)")
    vm.save(model, tok, args.out)
    log.close()


if __name__ == "__main__":
    main()
