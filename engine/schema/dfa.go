package schema

import (
	"sync"
)

// stepper defines a byte language by its states (encoded as strings): the
// lazily built dfa interns the states it meets.
type stepper interface {
	start() string
	// step consumes byte b in state key; chars is how many characters
	// (code points, for maxLength) the byte starts.
	step(key string, b byte) (next string, chars int, ok bool)
	accept(key string) bool
}

const (
	dead     = -1
	unknown  = -2
	padState = 0 // the pad run after a value (never produced by a stepper)
	startSt  = 1
)

// dfa is a lazily determinized byte automaton with per-state token tables:
// the token-level automaton of one slot language. It is shared by every
// slot of the same schema node and safe for concurrent use.
type dfa struct {
	mu     sync.Mutex
	st     stepper
	v      *vocab
	maxLen int // code points, -1 unbounded

	ids   map[string]int32
	keys  []string
	acc   []bool
	bnext [][256]int32
	bcnt  [][256]uint8

	cands  []int32         // tokens whose bytes may appear in the language
	candIx map[int32]int32 // token -> index in cands
	tnext  [][]int32       // [state][cand] next state or dead (nil: not built)
	tcnt   [][]uint8       // [state][cand] characters started
	edges  []map[int32]int // [state] successor -> fewest characters, over all tokens
	memo   map[string][]uint64
}

func newDFA(st stepper, v *vocab, maxLen int, alphabet func(b byte) bool) *dfa {
	d := &dfa{st: st, v: v, maxLen: maxLen, ids: map[string]int32{}, candIx: map[int32]int32{}, memo: map[string][]uint64{}}
	d.intern("\xffpad")
	d.intern(st.start())
	for id, bs := range v.bytes {
		if len(bs) == 0 || v.special[id] {
			continue
		}
		ok := true
		for _, b := range bs {
			if !alphabet(b) {
				ok = false
				break
			}
		}
		if ok {
			d.candIx[int32(id)] = int32(len(d.cands))
			d.cands = append(d.cands, int32(id))
		}
	}
	return d
}

func (d *dfa) intern(key string) int32 {
	if id, ok := d.ids[key]; ok {
		return id
	}
	id := int32(len(d.keys))
	d.ids[key] = id
	d.keys = append(d.keys, key)
	d.acc = append(d.acc, id != padState && d.st.accept(key))
	var row [256]int32
	for i := range row {
		row[i] = unknown
	}
	d.bnext = append(d.bnext, row)
	d.bcnt = append(d.bcnt, [256]uint8{})
	d.tnext = append(d.tnext, nil)
	d.tcnt = append(d.tcnt, nil)
	d.edges = append(d.edges, nil)
	return id
}

func (d *dfa) byteStep(s int32, b byte) (int32, int) {
	if s == padState {
		return dead, 0
	}
	n := d.bnext[s][b]
	if n == unknown {
		key, c, ok := d.st.step(d.keys[s], b)
		n = dead
		if ok {
			n = d.intern(key)
			d.bcnt[s][b] = uint8(c)
		}
		d.bnext[s][b] = n
	}
	return n, int(d.bcnt[s][b])
}

// table builds the token transitions of state s.
func (d *dfa) table(s int32) {
	if d.tnext[s] != nil {
		return
	}
	next := make([]int32, len(d.cands))
	cnt := make([]uint8, len(d.cands))
	edges := map[int32]int{}
	for i, id := range d.cands {
		cur, chars := s, 0
		for _, b := range d.v.bytes[id] {
			var c int
			if cur, c = d.byteStep(cur, b); cur == dead {
				break
			}
			chars += c
		}
		next[i], cnt[i] = cur, uint8(min(chars, 255))
		if cur != dead {
			if old, ok := edges[cur]; !ok || chars < old {
				edges[cur] = chars
			}
		}
	}
	d.tnext[s], d.tcnt[s], d.edges[s] = next, cnt, edges
}

// tokStep is the transition on one committed token.
func (d *dfa) tokStep(s, tok int32, padOK bool) (int32, int) {
	if tok == d.v.pad {
		if s == padState || d.acc[s] || padOK && s == startSt {
			return padState, 0
		}
		return dead, 0
	}
	if s == padState {
		return dead, 0
	}
	ix, ok := d.candIx[tok]
	if !ok {
		return dead, 0
	}
	d.table(s)
	return d.tnext[s][ix], int(d.tcnt[s][ix])
}

type stateSet map[int32]int // state -> fewest characters so far

func relax(m stateSet, s int32, c int) {
	if old, ok := m[s]; !ok || c < old {
		m[s] = c
	}
}

// succ calls f for every transition out of s at a position holding tok
// (mask: any token, or the pad).
func (d *dfa) succ(s, tok, mask int32, padOK bool, f func(n int32, c int)) {
	if tok != mask {
		if n, c := d.tokStep(s, tok, padOK); n != dead {
			f(n, c)
		}
		return
	}
	if n, _ := d.tokStep(s, d.v.pad, padOK); n != dead {
		f(n, 0)
	}
	if s == padState {
		return
	}
	d.table(s)
	for n, c := range d.edges[s] {
		f(n, c)
	}
}

func (d *dfa) final(s int32, c int) bool {
	return (s == padState || d.acc[s]) && (d.maxLen < 0 || c <= d.maxLen)
}

// analyse runs the slot's positions toks (mask where uncommitted, position
// k treated as masked) and returns the states before k with their fewest
// characters, and the states after k from which the slot can still be
// completed with the fewest characters still needed.
func (d *dfa) analyse(toks []int32, k int, mask int32, padOK bool) (before, after stateSet) {
	W := len(toks)
	fw := make([]stateSet, W+1)
	fw[0] = stateSet{startSt: 0}
	for i := range W {
		t := toks[i]
		if i == k {
			t = mask
		}
		next := stateSet{}
		for s, c := range fw[i] {
			d.succ(s, t, mask, padOK, func(n int32, dc int) {
				if d.maxLen < 0 || c+dc <= d.maxLen {
					relax(next, n, c+dc)
				}
			})
		}
		fw[i+1] = next
	}
	bw := stateSet{}
	for s := range fw[W] {
		if d.final(s, 0) {
			bw[s] = 0
		}
	}
	for i := W - 1; i > k; i-- {
		prev := stateSet{}
		for s := range fw[i] {
			d.succ(s, toks[i], mask, padOK, func(n int32, dc int) {
				if r, ok := bw[n]; ok {
					relax(prev, s, dc+r)
				}
			})
		}
		bw = prev
	}
	return fw[k], bw
}

// restrict sets to neg the logits of tokens that may not go at slot
// position k (those after which the slot cannot be completed) and returns
// how many stay allowed. Allowed sets are memoized by the states before
// and after k.
func (d *dfa) restrict(toks []int32, k int, mask int32, padOK bool, logits []float32, neg float32) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	before, after := d.analyse(toks, k, mask, padOK)
	key := setKey(before, after, padOK)
	bits, ok := d.memo[key]
	if !ok {
		bits = d.allowed(before, after, padOK)
		if len(d.memo) >= 512 {
			clear(d.memo)
		}
		d.memo[key] = bits
	}
	kept := 0
	for t := range logits {
		if t < len(bits)*64 && bits[t>>6]&(1<<(t&63)) != 0 {
			kept++
		} else {
			logits[t] = neg
		}
	}
	return kept
}

func setKey(before, after stateSet, padOK bool) string {
	enc := func(m stateSet) []int32 {
		out := make([]int32, 0, 2*len(m))
		for s, c := range m {
			out = append(out, s, int32(c))
		}
		// sort pairs by state
		for i := 2; i < len(out); i += 2 {
			for j := i; j > 0 && out[j] < out[j-2]; j -= 2 {
				out[j], out[j-2] = out[j-2], out[j]
				out[j+1], out[j-1] = out[j-1], out[j+1]
			}
		}
		return out
	}
	var sb []byte
	if padOK {
		sb = append(sb, 1)
	}
	for _, part := range [][]int32{enc(before), {-1}, enc(after)} {
		for _, x := range part {
			sb = append(sb, byte(x>>24), byte(x>>16), byte(x>>8), byte(x))
		}
	}
	return string(sb)
}

// allowed is the bitset of tokens that lead from a state of before to a
// state of after within the length bound.
func (d *dfa) allowed(before, after stateSet, padOK bool) []uint64 {
	bits := make([]uint64, (d.v.size+63)/64)
	aft := make([]int32, len(d.keys))
	for i := range aft {
		aft[i] = -1
	}
	for s, r := range after {
		aft[s] = int32(r)
	}
	set := func(t int32) { bits[t>>6] |= 1 << (t & 63) }
	for s, c := range before {
		if n, _ := d.tokStep(s, d.v.pad, padOK); n != dead && aft[n] >= 0 && (d.maxLen < 0 || c+int(aft[n]) <= d.maxLen) {
			set(d.v.pad)
		}
		if s == padState {
			continue
		}
		d.table(s)
		if len(aft) < len(d.keys) { // table() may have interned new states
			grown := make([]int32, len(d.keys))
			copy(grown, aft)
			for i := len(aft); i < len(grown); i++ {
				grown[i] = -1
			}
			aft = grown
		}
		next, cnt := d.tnext[s], d.tcnt[s]
		for i, n := range next {
			if n < 0 {
				continue
			}
			if r := aft[n]; r >= 0 && (d.maxLen < 0 || c+int(cnt[i])+int(r) <= d.maxLen) {
				set(d.cands[i])
			}
		}
	}
	return bits
}

// accepts reports whether tok at slot position k keeps the slot completable.
func (d *dfa) accepts(toks []int32, k int, mask int32, padOK bool, tok int32) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	before, after := d.analyse(toks, k, mask, padOK)
	for s, c := range before {
		n, dc := d.tokStep(s, tok, padOK)
		if r, in := after[n]; n != dead && in && (d.maxLen < 0 || c+dc+r <= d.maxLen) {
			return true
		}
	}
	return false
}

// feasible reports whether a fully masked slot of width w can hold a value
// (not only pads).
func (d *dfa) feasible(w int, mask int32) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	toks := make([]int32, w)
	for i := range toks {
		toks[i] = mask
	}
	end, _ := d.analyse(toks, w, mask, false)
	for s, c := range end {
		if d.final(s, c) {
			return true
		}
	}
	return false
}

// complete reports whether the committed tokens form a finished value.
func (d *dfa) complete(toks []int32, padOK bool) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	s, c := int32(startSt), 0
	for _, t := range toks {
		var dc int
		if s, dc = d.tokStep(s, t, padOK); s == dead {
			return false
		}
		c += dc
	}
	return d.final(s, c)
}
