package qwen

import (
	"dlmstream/engine/model"
	"dlmstream/kernels/cpu"
)

// mrope is Qwen2.5-VL's multimodal rotary embedding (transformers'
// Qwen2_5_VLRotaryEmbedding with apply_multimodal_rotary_pos_emb): the
// head's frequency pairs (i, i+D/2), i < D/2, are split in three sections
// of section[0], section[1], section[2] pairs, rotated by the temporal,
// height and width position id of the row respectively. A row whose three
// ids are equal is rotated exactly as 1-D RoPE at that id.
//
// Pair i's rotation depends on nothing but its own position id, so M-RoPE
// is three 1-D rotations (the same cos/sin tables, the same torch
// numerics) of which each section keeps its own axis.
type mrope struct {
	rope    *cpu.RoPE
	section [3]int // frequency pairs per axis; sum = D/2
}

// ropePositions fills ws.pos3 [3][N] with the rotary ids of every row of
// the batch and ws.pos [N] with the temporal ones; flat reports whether
// every row has three equal ids (then ws.pos alone describes the batch).
func (m *Model) ropePositions(b *model.Batch, spans []span, ws *workspace) (flat bool) {
	flat = true
	for si, s := range b.Seqs {
		sp := spans[si]
		for i := range s.Tokens {
			r := sp.row + i
			t, h, w := s.Rope.At(s.Pos + i)
			ws.pos[r] = t
			ws.pos3[0][r], ws.pos3[1][r], ws.pos3[2][r] = t, h, w
			flat = flat && t == h && h == w
		}
	}
	return flat
}

// apply rotates x [rows, heads, D] in place by the per-axis positions
// pos [3][rows]; scratch [2, rows, heads, D] holds two copies of x.
func (r *mrope) apply(x, scratch []float32, rows, heads, D int, pos *[3][]int) {
	n := rows * heads * D
	x = x[:n]
	byT, byH := scratch[:n], scratch[n:2*n]
	copy(byT, x)
	copy(byH, x)
	r.rope.Apply(byT, rows, heads, pos[0])
	r.rope.Apply(byH, rows, heads, pos[1])
	r.rope.Apply(x, rows, heads, pos[2]) // the width section stays in x
	half := D / 2
	s0, s1 := r.section[0], r.section[0]+r.section[1]
	for v := 0; v < n; v += D {
		copy(x[v:v+s0], byT[v:v+s0])
		copy(x[v+half:v+half+s0], byT[v+half:v+half+s0])
		copy(x[v+s0:v+s1], byH[v+s0:v+s1])
		copy(x[v+half+s0:v+half+s1], byH[v+half+s0:v+half+s1])
	}
}
