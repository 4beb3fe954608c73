package kvcache_test

import (
	"fmt"

	"dlmstream/engine/kvcache"
)

// A prompt's cache forked for two continuations: the forks share the
// prompt's pages, and only the page each one writes into is copied.
func ExampleSequence_Fork() {
	pool := kvcache.NewPoolWith(kvcache.Options{Layers: 1, KVDim: 2, PageRows: 4, DType: kvcache.BF16})
	prompt := pool.NewSequence()
	if err := prompt.Reserve(6); err != nil {
		panic(err)
	}
	prompt.Write(0, 0, []float32{1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6}, make([]float32, 12))
	prompt.Commit(6)
	a, _ := prompt.Fork(6, 8)
	b, _ := prompt.Fork(6, 8)
	fmt.Println("pages held:", pool.Used()/pool.PageBytes())
	a.Write(0, 6, []float32{7, 7}, []float32{0, 0}) // into the shared second page: copied
	k, _ := b.Read(0, 4, 2)
	fmt.Println("pages held:", pool.Used()/pool.PageBytes(), "b still reads", k)
	for _, s := range []*kvcache.Sequence{a, b, prompt} {
		s.Free()
	}
	fmt.Println("pages held:", pool.Used()/pool.PageBytes())
	// Output:
	// pages held: 2
	// pages held: 3 b still reads [5 5 6 6]
	// pages held: 0
}

// An External pool keeps the books of pages whose storage a device owns:
// the owner sizes its storage by MaxPages, indexes it by PageIDs, calls Own
// before writing rows, and copies device pages when CopyPage asks.
func ExamplePool_external() {
	var copied [][2]int // stands in for device-to-device page copies
	pool := kvcache.NewPoolWith(kvcache.Options{
		Layers: 1, KVDim: 2, PageRows: 4, Budget: 4 * 64, // 4 pages of 64 bytes
		External: true,
		CopyPage: func(dst, src int) { copied = append(copied, [2]int{dst, src}) },
	})
	fmt.Println("device pages:", pool.MaxPages(), "of", pool.PageBytes(), "bytes")
	prompt := pool.NewSequence()
	if err := prompt.Reserve(6); err != nil {
		panic(err)
	}
	prompt.Commit(6) // the device wrote rows [0, 6) into pages prompt.PageIDs()
	a, _ := prompt.Fork(6, 8)
	fmt.Println("prompt", prompt.PageIDs(), "fork", a.PageIDs())
	if err := a.Own(6, 8); err != nil { // the fork's next rows fall in the shared second page
		panic(err)
	}
	fmt.Println("fork", a.PageIDs(), "copies (dst, src):", copied)
	a.Free()
	prompt.Free()
	fmt.Println("free pages:", pool.FreePages())
	// Output:
	// device pages: 4 of 64 bytes
	// prompt [0 1] fork [0 1]
	// fork [0 2] copies (dst, src): [[2 1]]
	// free pages: 4
}

// Memory a sequence holds beside its pages (FlashBlock's attention cache)
// is charged against the budget in whole pages: it leaves fewer pages for
// other sequences until the sequence is freed.
func ExampleSequence_Charge() {
	pool := kvcache.NewPoolWith(kvcache.Options{Layers: 1, KVDim: 2, PageRows: 4, Budget: 4 * 64}) // 4 pages of 64 bytes
	a := pool.NewSequence()
	if err := a.Reserve(8); err != nil { // 2 pages
		panic(err)
	}
	if err := a.Charge(100); err != nil { // 2 pages' worth
		panic(err)
	}
	fmt.Println("free pages:", pool.FreePages())
	fmt.Println("another sequence:", pool.NewSequence().Reserve(1))
	a.Free()
	fmt.Println("free pages:", pool.FreePages())
	// Output:
	// free pages: 0
	// another sequence: kvcache: memory budget exhausted: need 64 more bytes, 256 of 256 in use
	// free pages: 4
}
