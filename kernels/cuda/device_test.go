package cuda

import (
	"strings"
	"testing"
)

// TestDeviceMemory: round trips through device memory, the context's byte
// accounting and its limit (device only).
func TestDeviceMemory(t *testing.T) {
	b := deviceOrSkip(t)
	c := b.C
	before := c.Held()
	src := []float32{1, 2, 3, 4.5}
	buf, err := Upload(c, src)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Held() - before; got != 16 {
		t.Errorf("held %d more bytes, want 16", got)
	}
	if err := Write(buf, 4, []float32{-7}); err != nil {
		t.Fatal(err)
	}
	got := make([]float32, 4)
	if err := Read(buf, 0, got); err != nil {
		t.Fatal(err)
	}
	if want := []float32{1, -7, 3, 4.5}; got[0] != want[0] || got[1] != want[1] || got[2] != want[2] || got[3] != want[3] {
		t.Errorf("read %v, want %v", got, want)
	}
	if err := Read(buf, 8, got); err == nil {
		t.Error("read past the end succeeded")
	}
	if err := buf.Free(); err != nil {
		t.Fatal(err)
	}
	if c.Held() != before {
		t.Errorf("held %d after free, want %d", c.Held(), before)
	}
	c.SetLimit(before + 1024)
	defer c.SetLimit(0)
	if _, err := c.Alloc(4096); err == nil || !strings.Contains(err.Error(), "limit") {
		t.Errorf("alloc over the limit: %v", err)
	}
	free, total, err := c.MemInfo()
	if err != nil || free == 0 || free > total {
		t.Errorf("MemInfo = %d, %d, %v", free, total, err)
	}
}

// TestGraphReplay: a captured graph of kernel launches replays with the
// same effect each time, and a failed capture leaves the stream usable.
func TestGraphReplay(t *testing.T) {
	b := deviceOrSkip(t)
	const n = 1000
	ones := make([]float32, n)
	for i := range ones {
		ones[i] = 1
	}
	acc, err := Upload(b.C, make([]float32, n))
	if err != nil {
		t.Fatal(err)
	}
	defer acc.Free()
	inc, err := Upload(b.C, ones)
	if err != nil {
		t.Fatal(err)
	}
	defer inc.Free()
	var g *Graph
	err = b.C.Run(func(q *Queue) error {
		var err error
		g, err = q.Capture(func(q *Queue) error {
			if err := b.Add(q, acc.Ptr, inc.Ptr, n); err != nil {
				return err
			}
			return b.Add(q, acc.Ptr, inc.Ptr, n)
		})
		if err != nil {
			return err
		}
		for range 3 {
			if err := q.LaunchGraph(g); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Destroy()
	got := make([]float32, n)
	if err := Read(acc, 0, got); err != nil {
		t.Fatal(err)
	}
	for i, v := range got {
		if v != 6 {
			t.Fatalf("acc[%d] = %v after 3 replays of 2 adds, want 6", i, v)
		}
	}
}
