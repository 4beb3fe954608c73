package tokenizer

import (
	"strings"
	"sync"
	"unicode/utf8"
)

// bpe is the byte-pair-encoding model: a vocabulary and ranked merges.
type bpe struct {
	vocab     map[string]int32
	merges    map[uint64]merge // key: pairKey(left, right)
	byteLevel bool             // pieces are raw bytes mapped through byteToRune
	byteIDs   [256]int32       // byte-level: id of each byte's rune, or -1

	ignoreMerges bool  // a piece that is itself in the vocabulary is one token
	byteFallback bool  // unknown runes become <0xXX> tokens
	unkID        int32 // -1: unknown symbols are dropped

	cacheMu  sync.Mutex
	cache    map[string][]int32 // piece -> ids; cleared when full
	useCache bool
}

// merge says that a pair becomes newID, with priority rank (lower first).
type merge struct {
	rank  int32
	newID int32
}

const (
	maxCacheEntries = 1 << 16
	maxCachedPiece  = 128 // bytes
)

func pairKey(left, right int32) uint64 { return uint64(uint32(left))<<32 | uint64(uint32(right)) }

// symbol is one node of the doubly linked list a word is merged in.
type symbol struct {
	id         int32
	prev, next int32 // indices, -1 at the ends
	dead       bool
}

// candidate is a possible merge of symbols[pos] with its next symbol.
type candidate struct {
	rank, pos, newID int32
}

// wordScratch holds the reusable buffers of one encodePiece call.
type wordScratch struct {
	syms  []symbol
	heap  []candidate
	buf   []byte
	ids   []int32
	pairs []merge
}

// shortWord is the longest piece (in symbols) merged by the quadratic scan
// instead of the heap.
const shortWord = 48

var scratchPool = sync.Pool{New: func() any { return new(wordScratch) }}

// encodePiece appends the ids of one pre-tokenized piece to out; ws is
// the caller's scratch space.
func (m *bpe) encodePiece(piece string, out []int32, ws *wordScratch) []int32 {
	if m.useCache && len(piece) <= maxCachedPiece {
		m.cacheMu.Lock()
		ids, ok := m.cache[piece]
		m.cacheMu.Unlock()
		if ok {
			return append(out, ids...)
		}
	}
	start := len(out)
	out = m.encodeWord(piece, out, ws)
	if m.useCache && len(piece) <= maxCachedPiece {
		ids := append([]int32(nil), out[start:]...)
		m.cacheMu.Lock()
		if len(m.cache) >= maxCacheEntries {
			clear(m.cache)
		}
		m.cache[strings.Clone(piece)] = ids
		m.cacheMu.Unlock()
	}
	return out
}

// encodeWord runs the merges on one piece without the cache.
func (m *bpe) encodeWord(piece string, out []int32, ws *wordScratch) []int32 {
	if m.ignoreMerges {
		if id, ok := m.wholeToken(piece, ws); ok {
			return append(out, id)
		}
	}
	syms := m.initialSymbols(piece, ws.syms[:0])
	ws.syms = syms
	if len(syms) == 0 {
		return out
	}

	if len(syms) <= shortWord {
		return m.mergeShort(syms, out, ws)
	}

	// Merge the lowest-ranked pair first, the leftmost among equal ranks,
	// as HF's Word::merge_all does with its binary heap.
	h := ws.heap[:0]
	for i := 0; i+1 < len(syms); i++ {
		if mg, ok := m.merges[pairKey(syms[i].id, syms[i+1].id)]; ok {
			h = heapPush(h, candidate{mg.rank, int32(i), mg.newID})
		}
	}
	for len(h) > 0 {
		var c candidate
		c, h = heapPop(h)
		s := &syms[c.pos]
		if s.dead || s.next < 0 {
			continue
		}
		right := &syms[s.next]
		mg, ok := m.merges[pairKey(s.id, right.id)]
		if !ok || mg.newID != c.newID {
			continue // stale: one side was merged since this was queued
		}
		s.id = c.newID
		right.dead = true
		s.next = right.next
		if s.next >= 0 {
			syms[s.next].prev = c.pos
		}
		if s.prev >= 0 {
			if mg, ok := m.merges[pairKey(syms[s.prev].id, s.id)]; ok {
				h = heapPush(h, candidate{mg.rank, s.prev, mg.newID})
			}
		}
		if s.next >= 0 {
			if mg, ok := m.merges[pairKey(s.id, syms[s.next].id)]; ok {
				h = heapPush(h, candidate{mg.rank, c.pos, mg.newID})
			}
		}
	}
	ws.heap = h
	for i := 0; i >= 0; i = int(syms[i].next) {
		out = append(out, syms[i].id)
	}
	return out
}

// mergeShort applies the same merge order as the heap loop (lowest rank,
// then leftmost) by scanning the pair ranks, which is faster for the short
// pieces that make up most text.
func (m *bpe) mergeShort(syms []symbol, out []int32, ws *wordScratch) []int32 {
	const none = int32(1<<31 - 1)
	ids := ws.ids[:0]
	for i := range syms {
		ids = append(ids, syms[i].id)
	}
	pairs := ws.pairs[:0] // pairs[i]: merge of ids[i] and ids[i+1]
	lookup := func(a, b int32) merge {
		if mg, ok := m.merges[pairKey(a, b)]; ok {
			return mg
		}
		return merge{rank: none}
	}
	for i := 0; i+1 < len(ids); i++ {
		pairs = append(pairs, lookup(ids[i], ids[i+1]))
	}
	for len(pairs) > 0 {
		best := 0
		for i := 1; i < len(pairs); i++ {
			if pairs[i].rank < pairs[best].rank {
				best = i
			}
		}
		if pairs[best].rank == none {
			break
		}
		ids[best] = pairs[best].newID
		ids = append(ids[:best+1], ids[best+2:]...)
		pairs = append(pairs[:best], pairs[best+1:]...)
		if best > 0 {
			pairs[best-1] = lookup(ids[best-1], ids[best])
		}
		if best < len(pairs) {
			pairs[best] = lookup(ids[best], ids[best+1])
		}
	}
	ws.ids, ws.pairs = ids, pairs
	return append(out, ids...)
}

// wholeToken looks the whole piece up in the vocabulary (ignore_merges).
func (m *bpe) wholeToken(piece string, ws *wordScratch) (int32, bool) {
	if !m.byteLevel {
		id, ok := m.vocab[piece]
		return id, ok
	}
	b := ws.buf[:0]
	for i := 0; i < len(piece); i++ {
		b = utf8.AppendRune(b, byteToRune[piece[i]])
	}
	ws.buf = b
	id, ok := m.vocab[string(b)]
	return id, ok
}

// initialSymbols turns a piece into its starting symbols: one per byte for
// byte-level models, one per rune otherwise (with byte fallback or the
// unknown token for runes outside the vocabulary).
func (m *bpe) initialSymbols(piece string, syms []symbol) []symbol {
	add := func(id int32) {
		n := int32(len(syms))
		syms = append(syms, symbol{id: id, prev: n - 1, next: n + 1})
	}
	if m.byteLevel {
		for i := 0; i < len(piece); i++ {
			if id := m.byteIDs[piece[i]]; id >= 0 {
				add(id)
			} else if m.unkID >= 0 {
				add(m.unkID)
			}
		}
	} else {
		for i := 0; i < len(piece); {
			_, w := utf8.DecodeRuneInString(piece[i:])
			if id, ok := m.vocab[piece[i:i+w]]; ok {
				add(id)
			} else if ids, ok := m.fallbackBytes(piece[i : i+w]); ok {
				for _, id := range ids {
					add(id)
				}
			} else if m.unkID >= 0 {
				add(m.unkID)
			}
			i += w
		}
	}
	if len(syms) > 0 {
		syms[len(syms)-1].next = -1
	}
	return syms
}

// fallbackBytes returns the <0xXX> tokens of s when byte_fallback is on and
// all of them exist.
func (m *bpe) fallbackBytes(s string) ([]int32, bool) {
	if !m.byteFallback {
		return nil, false
	}
	ids := make([]int32, 0, len(s))
	for i := 0; i < len(s); i++ {
		id, ok := m.vocab[byteFallbackToken(s[i])]
		if !ok {
			return nil, false
		}
		ids = append(ids, id)
	}
	return ids, true
}

// byteFallbackToken is the vocabulary entry of one raw byte, e.g. "<0x0A>".
func byteFallbackToken(b byte) string {
	const hex = "0123456789ABCDEF"
	return string([]byte{'<', '0', 'x', hex[b>>4], hex[b&15], '>'})
}

// heapPush and heapPop keep h a min-heap ordered by (rank, pos).
func heapPush(h []candidate, c candidate) []candidate {
	h = append(h, c)
	i := len(h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !less(h[i], h[p]) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
	return h
}

func heapPop(h []candidate) (candidate, []candidate) {
	top := h[0]
	n := len(h) - 1
	h[0] = h[n]
	h = h[:n]
	i := 0
	for {
		l, r, min := 2*i+1, 2*i+2, i
		if l < n && less(h[l], h[min]) {
			min = l
		}
		if r < n && less(h[r], h[min]) {
			min = r
		}
		if min == i {
			break
		}
		h[i], h[min] = h[min], h[i]
		i = min
	}
	return top, h
}

func less(a, b candidate) bool {
	return a.rank < b.rank || a.rank == b.rank && a.pos < b.pos
}
