package cpu

import "fmt"

// MaskKind selects which keys a query may attend to.
type MaskKind uint8

const (
	// Causal: key k is visible to query q iff k <= q (autoregressive decoding).
	Causal MaskKind = iota
	// Bidirectional: every key is visible (encoders).
	Bidirectional
	// BlockCausal: k/Block <= q/Block, i.e. full attention inside a block of
	// Block positions and causal across blocks (block diffusion, SDAR).
	BlockCausal
)

// Mask is an attention mask over absolute positions. Block is used only by
// BlockCausal and must be > 0 there.
type Mask struct {
	Kind  MaskKind
	Block int
}

// Allows reports whether a query at absolute position q may attend to the key
// at absolute position k.
func (m Mask) Allows(q, k int) bool {
	switch m.Kind {
	case Causal:
		return k <= q
	case Bidirectional:
		return true
	case BlockCausal:
		return k/m.Block <= q/m.Block
	}
	panic(fmt.Sprintf("cpu.Mask: unknown kind %d", m.Kind))
}

// keyLimit returns L such that, for k >= 0, Allows(q, k) == (k < L): every
// mask here allows a prefix of the key positions. Callers clamp L to nk.
func (m Mask) keyLimit(q int) int {
	switch m.Kind {
	case Causal:
		return q + 1
	case Bidirectional:
		return int(^uint(0) >> 1)
	case BlockCausal:
		return (q/m.Block + 1) * m.Block
	}
	panic(fmt.Sprintf("cpu.Mask: unknown kind %d", m.Kind))
}

func (m Mask) String() string {
	switch m.Kind {
	case Causal:
		return "causal"
	case Bidirectional:
		return "bidirectional"
	case BlockCausal:
		return fmt.Sprintf("block-causal(%d)", m.Block)
	}
	return fmt.Sprintf("MaskKind(%d)", m.Kind)
}
