#!/usr/bin/env python3
"""Train the demo-speech checkpoints in one command:

    nice -n 5 python tools/train/speech/train.py --out testdata/models/demo-speech                      # issue 5
    nice -n 10 python tools/train/speech/train.py --recipe v2 --out testdata/models/demo-speech-v2      # issue 11

Synthesizes the training clips (espeak-ng + sox, cached under --cache), trains a
Whisper encoder + CTC head + projector + SDAR LM jointly (loss = bd + ctc_weight*ctc),
fp32, fixed seeds; writes the bf16 checkpoint and train.log to --out.

--recipe picks the defaults of every option not given on the command line: v1 is the
demo-speech run exactly (10 voices, one thread); v2 (demo-speech-v2) trains on
data.py's v2 voices (6 accents x 94 voices, pitch 20-80, speed 120-200, sox reverb), one
thread (on the shared 2-core machine two threads ran 7x slower per step: 3.3 s vs 0.47 s)
and on-the-fly augmentation: noise, a random resampling factor (tempo, pitch
and formants change together, like a longer or shorter vocal tract) and SpecAugment-style
frequency masks. Options left at their v1 value keep the v1 random streams, so the v1 run
is unchanged.
"""

import argparse
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, ".."))
import bdlm  # noqa: E402
import data  # noqa: E402
import model as M  # noqa: E402


def ctc_targets(texts):
    idx = {c: i for i, c in enumerate(M.CTC_VOCAB)}
    seqs = [[idx[c] for c in t] for t in texts]
    return torch.tensor([c for s in seqs for c in s]), torch.tensor([len(s) for s in seqs])


class Batcher:
    def __init__(self, texts, audio, offsets, fe, tok, n_audio, seed):
        self.texts, self.audio, self.offsets = texts, audio, offsets
        self.fe, self.tok = fe, tok
        self.rng = np.random.default_rng(seed)
        self.beds = data.noise_beds(args.cache)
        self.prompt = M.prompt_ids(tok, n_audio)
        self.targets = [tok.encode(t).ids + [bdlm.IM_END_ID] for t in texts]

    def clip(self, i):
        return self.audio[self.offsets[i]:self.offsets[i + 1]]

    def resample(self, a):
        """Read the clip at a random rate factor f in [1-r, 1+r] (linear interpolation): duration
        /f, pitch and formants xf. Capped so that the result fits the front end's window."""
        f = self.rng.uniform(1 - args.resample, 1 + args.resample)
        f = max(f, len(a) / data.MAX_SAMPLES)
        n = int(len(a) / f)
        y = np.interp(np.arange(n) * f, np.arange(len(a)), a.astype(np.float32))
        return np.clip(np.round(y), -32768, 32767).astype(np.int16)

    def freq_mask(self, feats):
        """SpecAugment-style: args.freq_masks bands of 0..args.freq_mask_width mel bins per
        example, set to that example's mean feature value."""
        B, n_mels, _ = feats.shape
        for b in range(B):
            fill = feats[b].mean()
            for _ in range(args.freq_masks):
                w = int(self.rng.integers(0, args.freq_mask_width + 1))
                lo = int(self.rng.integers(0, n_mels - w + 1))
                feats[b, lo:lo + w, :] = fill
        return feats

    def batch(self, B):
        idx = self.rng.integers(0, len(self.texts), B)
        wavs = []
        for i in idx:
            a = self.clip(i)
            if args.resample > 0:
                a = self.resample(a)
            if self.rng.random() > args.clean_frac:
                a, _ = data.add_noise(a, self.rng, self.rng.uniform(args.snr_lo, args.snr_hi), self.beds)
            wavs.append(self.fe.pad(a.astype(np.float32) / 32768.0))
        feats = self.fe(torch.stack(wavs))  # [B,n_mels,F]
        if args.freq_masks > 0:
            feats = self.freq_mask(feats)
        texts = [self.texts[i] for i in idx]
        # The response is padded with <|endoftext|> to the end of the block that holds
        # <|im_end|>, and those pads are scored too: the decoder fills whole blocks, so the
        # model must learn what follows <|im_end|> inside its block (otherwise it commits
        # stray tokens there and runs past the end of the transcript).
        P = len(self.prompt)
        bs = args.block_size
        ends = [-(-(P + len(self.targets[i])) // bs) * bs for i in idx]
        L = max(ends)
        ids = torch.full((B, L), bdlm.PAD_ID, dtype=torch.long)
        resp = torch.zeros((B, L), dtype=torch.bool)
        for r, i in enumerate(idx):
            t = self.targets[i]
            ids[r, :P] = torch.tensor(self.prompt)
            ids[r, P:P + len(t)] = torch.tensor(t)
            resp[r, P:ends[r]] = True
        return feats, texts, ids, resp


def ctc_wer(model, fe, items):
    """Quick dev check: word error rate of CTC greedy on (text, wav) items."""
    sys.path.insert(0, HERE)
    from eval import wer_counts
    errs = words = 0
    with torch.no_grad():
        for k in range(0, len(items), 16):
            chunk = items[k:k + 16]
            feats = fe(torch.stack([fe.pad(w) for _, w in chunk]))
            logits = model.ctc_head(model.encode(feats))
            for (t, _), lg in zip(chunk, logits):
                e, n = wer_counts(t, M.ctc_greedy(lg))
                errs += e
                words += n
    return errs / max(1, words)


# Defaults per recipe; a flag given on the command line wins.
RECIPES = {
    "v1": dict(out="testdata/models/demo-speech", data="v1", n_train=16000, steps=4000, batch=12, lr=2e-3,
               warmup=200, ctc_weight=1.0, clean_frac=0.2, snr_lo=12.0, snr_hi=35.0, d_model=160, enc_layers=3,
               enc_ffn=640, hidden=160, lm_layers=3, lm_ffn=480, threads=1, resample=0.0, freq_masks=0,
               freq_mask_width=0, max_train_minutes=43.0, time_budget_minutes=0.0),
    "v2": dict(out="testdata/models/demo-speech-v2", data="v2", n_train=24000, steps=7000, batch=12, lr=2e-3,
               warmup=300, ctc_weight=1.0, clean_frac=0.15, snr_lo=10.0, snr_hi=35.0, d_model=160, enc_layers=3,
               enc_ffn=640, hidden=160, lm_layers=3, lm_ffn=480, threads=1, resample=0.12, freq_masks=2,
               freq_mask_width=8, max_train_minutes=58.0, time_budget_minutes=55.0),
}


def main():
    global args
    ap = argparse.ArgumentParser()
    ap.add_argument("--recipe", choices=sorted(RECIPES), default="v1")
    ap.add_argument("--out")
    ap.add_argument("--data", choices=["v1", "v2"], help="data.py voice recipe")
    ap.add_argument("--cache", default="/tmp/dlmstream-speech-cache")
    ap.add_argument("--synth-workers", type=int, default=2, help="v2 synthesis processes (result independent)")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--n-train", type=int)
    ap.add_argument("--steps", type=int)
    ap.add_argument("--batch", type=int)
    ap.add_argument("--lr", type=float)
    ap.add_argument("--warmup", type=int)
    ap.add_argument("--ctc-weight", type=float)
    ap.add_argument("--clean-frac", type=float)
    ap.add_argument("--snr-lo", type=float)
    ap.add_argument("--snr-hi", type=float)
    ap.add_argument("--resample", type=float, help="random rate factor range +-r (0: off)")
    ap.add_argument("--freq-masks", type=int, help="frequency masks per example (0: off)")
    ap.add_argument("--freq-mask-width", type=int)
    ap.add_argument("--d-model", type=int)
    ap.add_argument("--enc-layers", type=int)
    ap.add_argument("--enc-ffn", type=int)
    ap.add_argument("--hidden", type=int)
    ap.add_argument("--lm-layers", type=int)
    ap.add_argument("--lm-ffn", type=int)
    ap.add_argument("--threads", type=int)
    ap.add_argument("--vocab", type=int, default=640)
    ap.add_argument("--stack", type=int, default=4)
    ap.add_argument("--block-size", type=int, default=4)
    ap.add_argument("--max-frames", type=int, default=320)
    ap.add_argument("--log-every", type=int, default=50)
    ap.add_argument("--dev-every", type=int, default=500)
    ap.add_argument("--max-train-minutes", type=float,
                    help="safety stop (logged) if the loop runs past this wall time")
    ap.add_argument("--time-budget-minutes", type=float,
                    help="0: off; else the lr schedule also advances with wall time and training stops "
                         "when the budget is spent (see the loop)")
    ap.add_argument("--no-save", action="store_true")
    args = ap.parse_args()
    for k, v in RECIPES[args.recipe].items():
        if getattr(args, k) is None:
            setattr(args, k, v)

    torch.set_num_threads(args.threads)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    t0 = time.time()
    os.makedirs(args.out, exist_ok=True)
    logf = open(os.path.join(args.out, "train.log"), "w")

    def log(msg):
        line = f"[{time.time() - t0:7.1f}s] {msg}"
        print(line, flush=True)
        logf.write(line + "\n")
        logf.flush()

    log("command: python tools/train/speech/train.py " + " ".join(sys.argv[1:]))
    log("args: " + " ".join(f"{k}={v}" for k, v in sorted(vars(args).items())))

    if args.data == "v1":
        texts, audio, offsets = data.build_train_cache(args.n_train, args.seed, args.cache, log=log)
        voices = None
    else:
        texts, audio, offsets, voices = data.build_train_cache_v2(args.n_train, args.seed, args.cache, log=log,
                                                                  workers=args.synth_workers)
    texts = [str(t) for t in texts]
    log(f"train clips: {len(texts)}, audio {len(audio) / data.SR / 3600:.2f} h, "
        f"unique transcripts {len(set(texts))}" + (f", voices {len(set(voices))}" if voices else "")
        + f" (data ready after {time.time() - t0:.0f}s)")

    tok_texts = texts + [M.INSTRUCTION, "user", "assistant", "system"]
    tok = bdlm.train_tokenizer(tok_texts, args.vocab, extra_specials=[M.AUDIO_TOKEN])
    audio_id = tok.token_to_id(M.AUDIO_TOKEN)
    log(f"tokenizer: vocab {tok.get_vocab_size()}, audio token id {audio_id}")

    fe = M.LogMel(max_frames=args.max_frames)
    n_audio = args.max_frames // 2 // args.stack
    wcfg = M.whisper_config(args.d_model, args.enc_layers, 4, args.enc_ffn, args.max_frames // 2)
    heads = 4
    lcfg = bdlm.lm_config(tok.get_vocab_size(), args.hidden, args.lm_layers, heads, 2, args.hidden // heads,
                          args.lm_ffn, block_size=args.block_size, max_pos=256)
    torch.manual_seed(args.seed)
    model = M.DLMASR(wcfg, lcfg, args.stack, len(M.CTC_VOCAB), audio_id)
    model.train()
    counts = {}
    for n, p in model.named_parameters():
        part = "encoder" if n.startswith("model.encoder.") else n.split(".")[0]
        counts[part] = counts.get(part, 0) + p.numel()
    log("params: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()) + f", total {sum(counts.values()):,}")

    batcher = Batcher(texts, audio, offsets, fe, tok, n_audio, args.seed + 1)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=args.lr, betas=(0.9, 0.98), weight_decay=0.01)
    gen = torch.Generator().manual_seed(args.seed + 2)

    dev = []
    for i in range(64):
        if args.data == "v1":
            text, _, _, _, a = data.make_item("dev", args.seed, i)
        else:  # training voices, dev seeds (never the held-out voices)
            p, a = data.make_item_v2("dev", args.seed, i)
            text = p["text"]
        dev.append((text, a.astype(np.float32) / 32768.0))

    run_bd = run_ctc = 0.0
    t_train = time.time()
    binding = False
    done = 0
    for step in range(args.steps):
        # Time budget: the schedule's position is max(step, whole steps' worth of the elapsed
        # share of the budget), so a run on a slower (shared) machine still finishes its cosine
        # decay within the budget; where the budget never binds the run is the fixed-step run,
        # bit for bit (the position is an integer, equal to step).
        pos = step
        if args.time_budget_minutes:
            tpos = int((time.time() - t_train) / (args.time_budget_minutes * 60) * args.steps)
            if tpos >= args.steps:
                log(f"TIME BUDGET reached at step {step}: {args.time_budget_minutes} min")
                break
            if tpos > step:
                pos = tpos
                if not binding:
                    log(f"time budget binding from step {step} (schedule position {tpos})")
                    binding = True
        lr = bdlm.cosine_lr(pos, args.steps, args.lr, args.warmup)
        for g in opt.param_groups:
            g["lr"] = lr
        feats, btexts, ids, resp = batcher.batch(args.batch)
        enc = model.encode(feats)  # [B,T,D]
        logp = F.log_softmax(model.ctc_head(enc).float(), -1).transpose(0, 1)  # [T,B,C]
        tgt, tlen = ctc_targets(btexts)
        ilen = torch.full((args.batch,), enc.shape[1], dtype=torch.long)
        ctc = F.ctc_loss(logp, tgt, ilen, tlen, blank=0, zero_infinity=True)
        embeds = model.embed_prompt(ids, enc)
        bd = bdlm.bd_loss(model.language_model, ids, resp, gen, embeds=embeds)
        loss = bd + args.ctc_weight * ctc
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        run_bd += bd.item()
        run_ctc += ctc.item()
        if (step + 1) % args.log_every == 0:
            n = args.log_every
            sps = (time.time() - t_train) / (step + 1)
            log(f"step {step + 1} loss {run_bd / n + args.ctc_weight * run_ctc / n:.4f} bd {run_bd / n:.4f} "
                f"ctc {run_ctc / n:.4f} lr {lr:.2e} s/step {sps:.3f}")
            run_bd = run_ctc = 0.0
        done = step + 1
        if done % args.dev_every == 0 or done == args.steps:
            model.eval()
            log(f"dev step {done} ctc_greedy_wer {ctc_wer(model, fe, dev):.4f}")
            model.train()
        if time.time() - t_train > args.max_train_minutes * 60 and done < args.steps:
            log(f"SAFETY STOP at step {done}: wall time over {args.max_train_minutes} min")
            break
    if done % args.dev_every and done != args.steps:
        model.eval()
        log(f"dev step {done} ctc_greedy_wer {ctc_wer(model, fe, dev):.4f}")

    log(f"training done: {done} steps in {time.time() - t_train:.0f}s, total {time.time() - t0:.0f}s")
    if not args.no_save:
        M.save(model.eval(), fe, tok, args.out)
        log(f"saved {args.out}")
    logf.close()


if __name__ == "__main__":
    main()
