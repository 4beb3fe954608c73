"""Train the vision demo checkpoint (issue 5): one command, fixed seeds, one CPU thread.

    python tools/train/vision/train.py --out testdata/models/demo-vision

Scenes are rendered on the fly (scenes.py, training seed range); the tokenizer is trained
first on captions of the first 20000 training seeds plus the prompt. The loss curve goes to
<out>/train.log. The held-out set is made separately by make_heldout.py.

Stages (the defaults reproduce testdata/models/demo-vision, about 60 min on one thread):
  1. --vision-steps: the tower alone on the auxiliary cell loss (AuxHead), label-rich scenes;
  2. --read-steps: reading phase, the whole model on labelled scenes only, block size 1,
     constant lr: the LM learns to copy the label characters out of the image tokens (the
     vision counterpart of the demo-text copy phase, tools/train/README.md);
  3. --steps: the caption mix with the block-diffusion loss, cosine lr.
In stages 2-3 the label characters are up-weighted (--letter-weight) and the tower learns at
--tower-lr-mult x the lr; the auxiliary loss is kept at --aux-weight.
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

    def __init__(self, cv, grid, patch_weight=0.0):
        super().__init__()
        self.grid = grid
        self.k = grid // 3  # patches per cell side
        d = cv * self.k * self.k
        self.norm = torch.nn.LayerNorm(d)
        self.cell = torch.nn.Linear(d, scenes.N_CELL_CLASSES)
        self.chars = torch.nn.Linear(d, 3 * scenes.N_CHAR_CLASSES)
        # Per-patch readout: every single patch of a label cell must hold the whole label
        # (all three character slots), so that the LM can read a letter from any one image
        # token of the cell instead of having to gather it from several.
        self.patch_weight = patch_weight
        if patch_weight:
            self.pnorm = torch.nn.LayerNorm(cv)
            self.pchars = torch.nn.Linear(cv, 3 * scenes.N_CHAR_CLASSES)

    def forward(self, feat, cells, chars):
        B, _, C = feat.shape
        g, k = self.grid, self.k
        xp = feat.view(B, 3, k, 3, k, C).permute(0, 1, 3, 2, 4, 5).reshape(B, 9, k * k, C)
        x = self.norm(xp.reshape(B, 9, k * k * C))
        lc = F.cross_entropy(self.cell(x).reshape(-1, scenes.N_CELL_CLASSES), cells.reshape(-1))
        lab = cells == scenes.LABEL_CLASS  # [B,9]: characters are scored in label cells only
        if not lab.any():
            return lc, 0.0
        logits = self.chars(x[lab]).reshape(-1, 3, scenes.N_CHAR_CLASSES)
        lch = F.cross_entropy(logits.reshape(-1, scenes.N_CHAR_CLASSES), chars[lab].reshape(-1))
        label_acc = (logits.argmax(-1) == chars[lab]).all(-1).float().mean().item()
        loss = lc + lch
        if self.patch_weight:
            pl = self.pchars(self.pnorm(xp[lab])).reshape(-1, k * k, 3, scenes.N_CHAR_CLASSES)
            pt = chars[lab][:, None, :].expand(-1, k * k, -1)
            loss = loss + self.patch_weight * F.cross_entropy(pl.reshape(-1, scenes.N_CHAR_CLASSES), pt.reshape(-1))
        return loss, label_acc


def label_token_weights(tok, weight):
    """[V] loss weight per target token id: `weight` for the label's characters (a capital letter
    or digit, with or without its leading space) and for the word that announces the label
    ("text" / "number"), 1 elsewhere; and [V] bool: which ids are label characters."""
    w = torch.ones(tok.get_vocab_size())
    is_char = torch.zeros(tok.get_vocab_size(), dtype=torch.bool)
    for i in range(tok.get_vocab_size()):
        t = tok.decode([i]).strip()
        is_char[i] = len(t) == 1 and t in scenes.CHARS
        if is_char[i] or t in ("text", "number"):
            w[i] = weight
    return w, is_char


def caption_loss(lm, ids, resp, gen, embeds, weights, is_label_char, ar_frac=0.25):
    """bdlm.bd_loss (same noise draws from gen) with a per-target-token weight: the weighted mean
    of the cross-entropy over the scored positions. With all weights 1 it is bd_loss.
    Also returns the mean cross-entropy on the label characters (for the log; nan without any)."""
    b = lm.config.block_size
    if ar_frac > 0 and torch.rand((), generator=gen).item() < ar_frac:
        b = 1
    noise = bdlm.sample_noise(resp, b, gen)
    noises = [noise, resp & ~noise] if b > 1 else [noise]
    logits, target = bdlm.bd_forward(lm, ids, resp, noises, b, embeds)
    ce = F.cross_entropy(logits.float(), target, reduction="none")
    w = weights[target]
    lab = is_label_char[target]
    lab_ce = ce[lab].mean().item() if lab.any() else float("nan")
    return (ce * w).sum() / w.sum(), lab_ce


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
    """(exact match, exact match on the labelled scenes, tokens per forward) on n validation scenes."""
    model.eval()
    ok = 0
    fw = 0
    ntok = 0
    lab = [0, 0]
    for k in range(n):
        img, cap = scenes.make(VAL_SEED0 + k)
        ids = torch.tensor(prompt)[None]
        e = model.embed(ids, vm.pixels(img)[None])[0]
        out, f = bdlm.generate(model.language_model, prompt, 64, threshold=threshold, prefix_embeds=e)
        hit = tok.decode(out) == cap
        ok += hit
        if ", with the " in cap:
            lab[0] += hit
            lab[1] += 1
        fw += f
        ntok += len(out) + 1
    model.train()
    return ok / n, lab[0] / max(lab[1], 1), ntok / max(fw, 1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--steps", type=int, default=1300)
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
    ap.add_argument("--aux-weight", type=float, default=0.5, help="aux loss weight in stages 2 and 3")
    ap.add_argument("--aux-patch-weight", type=float, default=1.0,
                    help="weight of the per-patch label readout in the aux loss (0: off)")
    ap.add_argument("--read-steps", type=int, default=700,
                    help="stage 2, reading phase: this many caption steps on labelled scenes only, block size 1, "
                         "constant lr, before the --steps of stage 3 (0: off)")
    ap.add_argument("--read-label-prob", type=float, default=1.0)
    ap.add_argument("--label-prob", type=float, default=0.6, help="label probability of the stage-3 scenes")
    ap.add_argument("--letter-weight", type=float, default=3.0,
                    help="caption loss weight of the label characters and the text/number word")
    ap.add_argument("--tower-lr-mult", type=float, default=0.3, help="lr factor of the vision tower in stages 2-3")
    ap.add_argument("--stage1-cache", default="", help="pilots only: load stage 1 from this file if it exists, "
                    "else save it there")
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

    t0, c0 = time.time(), time.process_time()
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

    aux = AuxHead(args.v_hidden, model.grid, args.aux_patch_weight)
    weights, is_char = label_token_weights(tok, args.letter_weight)

    # Stage 1: the vision tower alone on the auxiliary cell loss (cheap: 36 patch tokens).
    vparams = list(model.vision_tower.parameters()) + list(aux.parameters())
    if args.stage1_cache and os.path.exists(args.stage1_cache):
        st = torch.load(args.stage1_cache)
        model.vision_tower.load_state_dict(st["tower"])
        aux.load_state_dict(st["aux"])
        torch.set_rng_state(st["rng"])
        say(f"# stage 1 loaded from {args.stage1_cache}")
    else:
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
        if args.stage1_cache:
            torch.save({"tower": model.vision_tower.state_dict(), "aux": aux.state_dict(),
                        "rng": torch.get_rng_state()}, args.stage1_cache)

    tower = set(id(p) for p in model.vision_tower.parameters())
    params = [p for p in model.parameters() if p.requires_grad] + list(aux.parameters())
    groups = []
    for is_tower in (False, True):
        for dec in (True, False):
            ps = [p for p in params if (id(p) in tower) == is_tower and (p.dim() >= 2) == dec]
            groups.append({"params": ps, "weight_decay": 0.01 if dec else 0.0,
                           "lr_mult": args.tower_lr_mult if is_tower else 1.0})
    opt = torch.optim.AdamW(groups, lr=args.lr, betas=(0.9, 0.98), eps=1e-8)
    gen = torch.Generator().manual_seed(args.seed)
    model.train()
    run = 0.0
    R, S = args.read_steps, args.steps
    rseed0 = 600_000_000  # reading-phase scenes: another part of the training seed range
    for step in range(R + S):
        if step == 0 and R:
            say("# stage 2: reading phase (labelled scenes, block size 1, constant lr) + auxiliary cell loss")
            say("step,loss,char_loss,aux_loss,label_read_acc,lr,elapsed_s")
        if step == R:
            say("# stage 3: captioning (block diffusion loss) + auxiliary cell loss")
            say("step,loss,char_loss,aux_loss,label_read_acc,lr,elapsed_s")
        if step < R:
            lr = args.lr * min(1.0, (step + 1) / args.warmup)
            seeds = range(rseed0 + step * args.batch, rseed0 + (step + 1) * args.batch)
            label_prob, ar_frac = args.read_label_prob, 1.0
        else:
            lr = bdlm.cosine_lr(step - R, S, args.lr, 0 if R else args.warmup)
            seeds = range((step - R) * args.batch, (step - R + 1) * args.batch)
            label_prob, ar_frac = args.label_prob, 0.25
        for g in opt.param_groups:
            g["lr"] = lr * g["lr_mult"]
        ids, resp, pix, cells, chars = batch(seeds, tok, prompt, model.n_image_tokens, label_prob=label_prob)
        feat = model.tower(pix)
        embeds = model.embed(ids, pix, feat)
        cap_loss, char_ce = caption_loss(model.language_model, ids, resp, gen, embeds, weights, is_char, ar_frac)
        aux_loss, label_acc = aux(feat, cells, chars)
        loss = cap_loss + args.aux_weight * aux_loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        run = cap_loss.item() if step in (0, R) else 0.95 * run + 0.05 * cap_loss.item()
        if step % args.log_every == 0 or step == R + S - 1:
            say(f"{step},{cap_loss.item():.4f},{char_ce:.4f},{aux_loss.item():.4f},{label_acc:.3f},{lr:.6f},"
                f"{time.time() - t0:.1f}")
        if args.eval_every and (step + 1) % args.eval_every == 0 and step + 1 < R + S:
            em, eml, tpf = quick_eval(model, tok, prompt, 24, 0.9)
            say(f"# step {step + 1}: smoothed loss {run:.4f}, val exact-match {em:.3f}, labelled {eml:.3f} "
                f"(24 scenes, threshold 0.9, {tpf:.2f} tokens/forward), elapsed {time.time() - t0:.0f}s")
    em, eml, tpf = quick_eval(model, tok, prompt, 48, 0.9)
    say(f"# final: smoothed loss {run:.4f}, val exact-match {em:.3f}, labelled {eml:.3f} "
        f"(48 scenes, threshold 0.9, {tpf:.2f} tokens/forward)")
    say(f"# training wall time {time.time() - t0:.0f}s (1 thread), process CPU time {time.process_time() - c0:.0f}s")
    vm.save(model, tok, args.out)
    log.close()


if __name__ == "__main__":
    main()
