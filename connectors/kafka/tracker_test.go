package kafka

import (
	"slices"
	"sync"
	"testing"

	kgo "github.com/segmentio/kafka-go"
)

func TestOffsetTracker(t *testing.T) {
	type step struct {
		from, offset int64
		wantCommit   int64
		wantAdvanced bool
	}
	tests := []struct {
		name  string
		base  int64
		steps []step
	}{
		{"in order", 0, []step{{0, 0, 1, true}, {1, 1, 2, true}, {2, 2, 3, true}}},
		{"out of order waits for the lowest", 10, []step{
			{12, 12, 10, false}, {11, 11, 10, false}, {10, 10, 13, true}}},
		{"gap covered by From", 0, []step{{0, 0, 1, true}, {1, 5, 6, true}, {6, 6, 7, true}}},
		{"gap out of order", 0, []step{{6, 9, 0, false}, {1, 5, 0, false}, {0, 0, 10, true}}},
		{"duplicate of a committed offset", 0, []step{{0, 0, 1, true}, {0, 0, 1, false}, {1, 1, 2, true}}},
		{"duplicate of a pending span", 0, []step{{2, 2, 0, false}, {2, 2, 0, false}, {0, 0, 1, true}, {1, 1, 3, true}}},
		{"nonzero base, first element", 100, []step{{100, 104, 105, true}}},
		{"span overlapping the commit point", 0, []step{{0, 3, 4, true}, {2, 5, 6, true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tr OffsetTracker
			for i, s := range tt.steps {
				o := Origin{Group: "g", Topic: "t", Partition: 0, From: s.from, Offset: s.offset, Base: tt.base}
				got, adv := tr.Done(o)
				if got != s.wantCommit || adv != s.wantAdvanced {
					t.Fatalf("step %d Done(%d..%d) = %d, %v; want %d, %v", i, s.from, s.offset, got, adv, s.wantCommit, s.wantAdvanced)
				}
			}
		})
	}
}

func TestOffsetTrackerPartitionsAreIndependent(t *testing.T) {
	var tr OffsetTracker
	if _, adv := tr.Done(Origin{Group: "g", Topic: "t", Partition: 1, From: 1, Offset: 1}); adv {
		t.Fatal("partition 1 advanced without offset 0")
	}
	if got, _ := tr.Done(Origin{Group: "g", Topic: "t", Partition: 0, From: 0, Offset: 0}); got != 1 {
		t.Fatalf("partition 0 commit = %d, want 1", got)
	}
	if got := tr.Pending(Origin{Group: "g", Topic: "t", Partition: 1}); !slices.Equal(got, []int64{1}) {
		t.Fatalf("partition 1 pending = %v, want [1]", got)
	}
	if got, _ := tr.Done(Origin{Group: "other", Topic: "t", Partition: 0, From: 0, Offset: 4}); got != 5 {
		t.Fatalf("group other commit = %d, want 5", got)
	}
}

// TestOffsetTrackerNeverPassesUnwritten checks the invariant under every order of 6 spans:
// the returned commit point never exceeds the first offset whose span is not done.
func TestOffsetTrackerNeverPassesUnwritten(t *testing.T) {
	spans := [][2]int64{{0, 0}, {1, 3}, {4, 4}, {5, 5}, {6, 9}, {10, 10}}
	var permute func(a []int, k int)
	count := 0
	permute = func(a []int, k int) {
		if k == len(a) {
			count++
			var tr OffsetTracker
			done := make([]bool, len(spans))
			for _, i := range a {
				done[i] = true
				got, _ := tr.Done(Origin{Group: "g", Topic: "t", From: spans[i][0], Offset: spans[i][1]})
				limit := int64(11)
				for j, d := range done {
					if !d {
						limit = spans[j][0]
						break
					}
				}
				if got != limit {
					t.Fatalf("order %v: commit %d after %v, want %d", a, got, done, limit)
				}
			}
			return
		}
		for i := k; i < len(a); i++ {
			a[k], a[i] = a[i], a[k]
			permute(a, k+1)
			a[k], a[i] = a[i], a[k]
		}
	}
	permute([]int{0, 1, 2, 3, 4, 5}, 0)
	if count != 720 {
		t.Fatalf("ran %d orders, want 720", count)
	}
}

// Sinks sharing a tracker commit in any order, but a lower commit point
// that loses the race to a higher one is never sent after it: the last
// offset sent per partition is the highest.
func TestSendCommitsNeverGoesBack(t *testing.T) {
	var tr OffsetTracker
	k := sentKey{"g", "t", 0}
	var mu sync.Mutex
	var sent []int64
	send := func(group string, topics map[string][]kgo.OffsetCommit) error {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range topics["t"] {
			sent = append(sent, c.Offset)
		}
		return nil
	}
	var wg sync.WaitGroup
	for _, off := range []int64{5, 24, 21, 3, 30, 29, 12} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := tr.sendCommits(map[sentKey]int64{k: off}, send); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	for i := 1; i < len(sent); i++ {
		if sent[i] <= sent[i-1] {
			t.Fatalf("sent %v: offset %d after %d", sent, sent[i], sent[i-1])
		}
	}
	if sent[len(sent)-1] != 30 {
		t.Fatalf("sent %v, last want 30", sent)
	}
}
