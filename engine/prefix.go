package engine

import (
	"container/list"
	"crypto/sha256"
	"encoding/binary"
	"math"
	"sync"

	"dlmstream/engine/kvcache"
	"dlmstream/engine/model"
)

// prefixCache keeps the committed K/V of prompt prefixes (whole blocks) that
// requests share: several prompts on one image, retries of one record,
// repeated system prompts. A block-causal model's K/V of whole prompt
// blocks depend only on the tokens (media rows, rotary positions) of those
// blocks, so a later request whose prompt starts with the same blocks forks
// them instead of prefilling them. Keys chain a SHA-256 over each block's
// token ids, embedding rows and M-RoPE ids (with the block size, so
// autoregressive and block decoding never share). Entries live in the
// engine's KV pool, inside its budget, least recently used first out; an
// entry a waiting request will fork is pinned.
type prefixCache struct {
	mu      sync.Mutex
	limit   int64 // bytes
	bytes   int64 // Σ entry sizes: the limit's measure (nested prefixes' shared pages count per entry)
	entries map[[32]byte]*list.Element
	lru     *list.List // of *prefixEntry, most recent at the front
	stats   PrefixStats
}

type prefixEntry struct {
	key  [32]byte
	seq  *kvcache.Sequence
	rows int
	size int64
	pins int
}

// PrefixStats count the prefix cache's work.
type PrefixStats struct {
	Hits, Misses int64 // requests that found / did not find a cached prefix
	RowsReused   int64 // prompt rows taken from the cache instead of prefilled
	Inserts      int64
	Evictions    int64
	Bytes        int64 // held now (pages the entries share count once)
}

func newPrefixCache(limit int64) *prefixCache {
	return &prefixCache{limit: limit, entries: map[[32]byte]*list.Element{}, lru: list.New()}
}

// blockKeys returns the chained key after each whole block of ids: keys[k]
// identifies ids[:(k+1)*block] with its media rows (embeds, hidden H) and
// its M-RoPE positions (rope; only those that differ from the 1-D ones, so
// a text prompt keys the same with or without explicit equal ids). Each
// row writes its id, a flags byte (1: a media row follows, 2: three
// position ids follow), then those.
func blockKeys(ids []int32, embeds []model.Embedding, rope *model.Positions, block, H int) [][32]byte {
	n := len(ids) / block
	keys := make([][32]byte, n)
	var prev [32]byte
	var buf [4]byte
	binary.LittleEndian.PutUint32(buf[:], uint32(block))
	prev = sha256.Sum256(buf[:])
	for k := 0; k < n; k++ {
		h := sha256.New()
		h.Write(prev[:])
		for p := k * block; p < (k+1)*block; p++ {
			binary.LittleEndian.PutUint32(buf[:], uint32(ids[p]))
			h.Write(buf[:])
			var row []float32
			for _, e := range embeds {
				if r := p - e.Pos; r >= 0 && r < len(e.Rows)/H {
					row = e.Rows[r*H : (r+1)*H]
				}
			}
			var flags byte
			if row != nil {
				flags |= 1
			}
			if !rope.Plain(p) {
				flags |= 2
			}
			h.Write([]byte{flags})
			for _, v := range row {
				binary.LittleEndian.PutUint32(buf[:], math.Float32bits(v))
				h.Write(buf[:])
			}
			if flags&2 != 0 {
				t, hh, w := rope.At(p)
				for _, id := range []int{t, hh, w} {
					binary.LittleEndian.PutUint32(buf[:], uint32(id))
					h.Write(buf[:])
				}
			}
		}
		copy(prev[:], h.Sum(nil))
		keys[k] = prev
	}
	return keys
}

// lookup finds the longest cached prefix among keys (at most maxBlocks
// blocks) and pins it; release unpins.
func (c *prefixCache) lookup(keys [][32]byte, maxBlocks int) (seq *kvcache.Sequence, rows int, release func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := min(len(keys), maxBlocks) - 1; k >= 0; k-- {
		el, ok := c.entries[keys[k]]
		if !ok {
			continue
		}
		c.lru.MoveToFront(el)
		e := el.Value.(*prefixEntry)
		e.pins++
		c.stats.Hits++
		c.stats.RowsReused += int64(e.rows)
		return e.seq, e.rows, func() {
			c.mu.Lock()
			e.pins--
			c.mu.Unlock()
		}
	}
	c.stats.Misses++
	return nil, 0, nil
}

// insert stores rows [0, rows) of cache under key unless present, evicting
// unpinned entries beyond the limit. Failing to get memory is not an error:
// the prefix is simply not cached.
func (c *prefixCache) insert(key [32]byte, cache *kvcache.Sequence, rows int) {
	size := cache.Pool().BytesFor(rows) // whole pages, shared with cache until either writes
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[key]; ok || size > c.limit {
		return
	}
	for c.bytes+size > c.limit && c.evictOne() {
	}
	if c.bytes+size > c.limit {
		return
	}
	seq, err := cache.Fork(rows, rows)
	if err != nil {
		return // the KV budget is taken by running requests
	}
	c.entries[key] = c.lru.PushFront(&prefixEntry{key: key, seq: seq, rows: rows, size: size})
	c.bytes += size
	c.stats.Inserts++
}

// evictOne frees the least recently used unpinned entry.
func (c *prefixCache) evictOne() bool {
	for el := c.lru.Back(); el != nil; el = el.Prev() {
		e := el.Value.(*prefixEntry)
		if e.pins > 0 {
			continue
		}
		c.lru.Remove(el)
		delete(c.entries, e.key)
		e.seq.Free()
		c.bytes -= e.size
		c.stats.Evictions++
		return true
	}
	return false
}

func (c *prefixCache) snapshot() PrefixStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stats
	s.Bytes = c.heldLocked()
	return s
}

// heldLocked is the memory of the distinct pages the entries hold (nested
// prefixes of one prompt share theirs).
func (c *prefixCache) heldLocked() int64 {
	seqs := make([]*kvcache.Sequence, 0, len(c.entries))
	for el := c.lru.Front(); el != nil; el = el.Next() {
		seqs = append(seqs, el.Value.(*prefixEntry).seq)
	}
	return kvcache.HeldBytes(seqs)
}
