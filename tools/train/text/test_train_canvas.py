"""The full-canvas objective sees what the canvas decoder sees: a row's masked logits in a
padded batch equal a bidirectional forward over that row alone (its prompt, its canvas with
the same masks); and the export names every tensor under LLaDA's names."""

import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bdlm  # noqa: E402
import train_canvas  # noqa: E402


def tiny():
    torch.manual_seed(1)
    return train_canvas.LlamaForCausalLM(train_canvas.lm_config(64, 32, 2, 4, 2, 64)).eval()


def test_padded_batch_matches_row_alone():
    lm = tiny()
    g = torch.Generator().manual_seed(0)
    L = 17
    ids = torch.randint(4, 64, (2, L), generator=g)
    resp = torch.zeros((2, L), dtype=torch.bool)
    resp[0, 6:] = True
    resp[1, 5:12] = True
    lens = torch.tensor([L, 12])  # row 1 ends at 12: positions after it are batch padding
    ids[1, 12:] = bdlm.PAD_ID
    noise = resp & (torch.rand((2, L), generator=g) < 0.5)
    noise[:, 8] = resp[:, 8]
    x = torch.where(noise, torch.full_like(ids, bdlm.MASK_ID), ids)
    keys = torch.arange(L)[None, :] < lens[:, None]
    allowed = keys[:, None, :].expand(2, L, L) | torch.eye(L, dtype=torch.bool)[None]
    with torch.no_grad():
        h = lm.model(input_ids=x, attention_mask=bdlm.additive(allowed), position_ids=torch.arange(L)[None].expand(2, -1))
        batch = lm.lm_head(h.last_hidden_state)
        for r in range(2):
            n = int(lens[r])
            alone = lm.model(input_ids=x[r:r + 1, :n], attention_mask=bdlm.additive(torch.ones((1, n, n), dtype=torch.bool)),
                             position_ids=torch.arange(n)[None])
            want = lm.lm_head(alone.last_hidden_state)[0]
            got = batch[r, :n]
            m = noise[r, :n]
            assert torch.allclose(got[m], want[m], atol=1e-5), (r, (got[m] - want[m]).abs().max())


def test_loss_is_finite_and_scores_masked_positions():
    lm = tiny().train()
    g = torch.Generator().manual_seed(3)
    ids = torch.randint(4, 64, (3, 10), generator=g)
    resp = torch.zeros((3, 10), dtype=torch.bool)
    resp[:, 4:] = True
    loss = train_canvas.mdm_loss(lm, ids, resp, torch.tensor([10, 10, 10]), g)
    assert torch.isfinite(loss) and loss.item() > 0
    loss.backward()
    assert lm.model.embed_tokens.weight.grad is not None


def test_export_names():
    names = set(train_canvas.llada_tensors(tiny()))
    assert "model.transformer.wte.weight" in names and "model.transformer.ln_f.weight" in names
    assert "model.transformer.ff_out.weight" not in names  # tied
    for i in range(2):
        for n in ("attn_norm", "q_proj", "k_proj", "v_proj", "attn_out", "ff_norm", "ff_proj", "up_proj", "ff_out"):
            assert f"model.transformer.blocks.{i}.{n}.weight" in names
    assert len(names) == 2 + 2 * 9
