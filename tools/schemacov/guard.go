package main

import (
	"fmt"
	"time"
)

// guarded runs f in its own goroutine with a panic recovered and waits at
// most limit. how says what ended it: "" (f returned), "panic" (err holds
// it) or "timeout" (f is left to finish, its result dropped).
func guarded[T any](limit time.Duration, f func() (T, error)) (v T, how string, err error) {
	type result struct {
		v   T
		err error
		pan bool
	}
	done := make(chan result, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- result{err: fmt.Errorf("panic: %v", p), pan: true}
			}
		}()
		v, err := f()
		done <- result{v: v, err: err}
	}()
	t := time.NewTimer(limit)
	defer t.Stop()
	select {
	case r := <-done:
		if r.pan {
			return v, "panic", r.err
		}
		return r.v, "", r.err
	case <-t.C:
		return v, "timeout", nil
	}
}
