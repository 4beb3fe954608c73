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
import torch.nn.functional as F

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


class AuxHead(torch.nn.Module):
    """Training-only auxiliary loss on the vision feature (not saved): for each cell of the 3x3
    scene grid, the concatenated features of its 2x2 patches predict the cell's content
    (empty / label / shape x colour) and the label's characters. It gives the tower a dense
    signal so that it learns shapes, colours, places and letters in far fewer steps than the
    caption loss alone."""

    def __init__(self, cv, grid):
        super().__init__()
        self.grid = grid
        self.k = grid // 3  # patches per cell side
        d = cv * self.k * self.k
        self.norm = torch.nn.LayerNorm(d)
        self.cell = torch.nn.Linear(d, scenes.N_CELL_CLASSES)
        self.chars = torch.nn.Linear(d, 3 * scenes.N_CHAR_CLASSES)

    def forward(self, feat, cells, chars):
        B, _, C = feat.shape
        g, k = self.grid, self.k
        x = feat.view(B, 3, k, 3, k, C).permute(0, 1, 3, 2, 4, 5).reshape(B, 9, k * k * C)
        x = self.norm(x)
        lc = F.cross_entropy(self.cell(x).reshape(-1, scenes.N_CELL_CLASSES), cells.reshape(-1))
        lab = cells == scenes.LABEL_CLASS  # [B,9]: characters are scored in label cells only
        if not lab.any():
            return lc, 0.0
        logits = self.chars(x[lab]).reshape(-1, 3, scenes.N_CHAR_CLASSES)
        lch = F.cross_entropy(logits.reshape(-1, scenes.N_CHAR_CLASSES), chars[lab].reshape(-1))
        label_acc = (logits.argmax(-1) == chars[lab]).all(-1).float().mean().item()
        return lc + lch, label_acc


def batch(seeds, tok, prompt, n_img, label_prob=0.45):
    """ids [B,L], resp [B,L] bool, pixel_values [B,3,S,S], cells [B,9], chars [B,9,3]."""
    rows, pix, cells, chars = [], [], [], []
    for s in seeds:
        img, cap, scene = scenes.make_full(s, label_prob)
        rows.append(tok.encode(cap).ids + [bdlm.IM_END_ID])
        pix.append(vm.pixels(img))
        c, ch = scenes.cell_targets(scene)
        cells.append(c)
        chars.append(ch)
    P = len(prompt)
    L = P + max(len(r) for r in rows)
    ids = torch.full((len(rows), L), bdlm.PAD_ID, dtype=torch.long)
    resp = torch.zeros((len(rows), L), dtype=torch.bool)
    for i, r in enumerate(rows):
        ids[i, :P] = torch.tensor(prompt)
        ids[i, P:P + len(r)] = torch.tensor(r)
        resp[i, P:P + len(r)] = True
    return ids, resp, torch.stack(pix), torch.tensor(cells), torch.tensor(chars)


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
    ap.add_argument("--steps", type=int, default=1200)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--warmup", type=int, default=60)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--vocab", type=int, default=640)
    ap.add_argument("--image-size", type=int, default=scenes.CANVAS)
    ap.add_argument("--patch", type=int, default=8)
    ap.add_argument("--v-hidden", type=int, default=128)
    ap.add_argument("--v-layers", type=int, default=4)
    ap.add_argument("--hidden", type=int, default=160)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--vision-steps", type=int, default=1500, help="stage 1: tower + aux loss only")
    ap.add_argument("--vision-batch", type=int, default=64)
    ap.add_argument("--aux-weight", type=float, default=0.5, help="aux loss weight in stage 2")
    ap.add_argument("--eval-every", type=int, default=300)
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

    aux = AuxHead(args.v_hidden, model.grid)

    # Stage 1: the vision tower alone on the auxiliary cell loss (cheap: 36 patch tokens).
    vparams = list(model.vision_tower.parameters()) + list(aux.parameters())
    vopt = torch.optim.AdamW(vparams, lr=args.lr, betas=(0.9, 0.98), weight_decay=0.01)
    vseed0 = 500_000_000  # stage-1 scenes: another part of the training seed range
    say("# stage 1: vision tower + auxiliary cell loss")
    say("vstep,aux_loss,label_read_acc,lr,elapsed_s")
    for step in range(args.vision_steps):
        lr = bdlm.cosine_lr(step, args.vision_steps, args.lr, args.warmup)
        for g in vopt.param_groups:
            g["lr"] = lr
        seeds = range(vseed0 + step * args.vision_batch, vseed0 + (step + 1) * args.vision_batch)
        _, _, pix, cells, chars = batch(seeds, tok, prompt, model.n_image_tokens, label_prob=0.9)
        loss, label_acc = aux(model.tower(pix), cells, chars)
        vopt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(vparams, 1.0)
        vopt.step()
        if step % (args.log_every * 2) == 0 or step == args.vision_steps - 1:
            say(f"{step},{loss.item():.4f},{label_acc:.3f},{lr:.6f},{time.time() - t0:.1f}")

    say("# stage 2: captioning (block diffusion loss) + auxiliary cell loss")
    say("step,loss,aux_loss,label_read_acc,lr,elapsed_s")
    params = [p for p in model.parameters() if p.requires_grad] + list(aux.parameters())
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
        ids, resp, pix, cells, chars = batch(seeds, tok, prompt, model.n_image_tokens)
        feat = model.tower(pix)
        embeds = model.embed(ids, pix, feat)
        cap_loss = bdlm.bd_loss(model.language_model, ids, resp, gen, embeds=embeds)
        aux_loss, label_acc = aux(feat, cells, chars)
        loss = cap_loss + args.aux_weight * aux_loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        run = cap_loss.item() if step == 0 else 0.95 * run + 0.05 * cap_loss.item()
        if step % args.log_every == 0 or step == args.steps - 1:
            say(f"{step},{cap_loss.item():.4f},{aux_loss.item():.4f},{label_acc:.3f},{lr:.6f},{time.time() - t0:.1f}")
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
