package kvcache

import "fmt"

// Charges: memory a sequence holds beside its pages, counted against the
// pool's budget so that admission sees it. FlashBlock's attention cache
// (model.FlashState, one block per sequence) is held this way. A charge
// takes no page and allocates nothing; it only leaves fewer pages for
// Reserve, Fork and copy on write, until the sequence is freed.

// Charge counts bytes of memory that s holds outside its pages against the
// pool's budget, in whole pages (ChargeBytes), until Free; charges add up.
// It fails with ErrBudget, charging nothing, when the budget has fewer
// pages left.
func (s *Sequence) Charge(bytes int64) error {
	p := s.pool
	n := p.chargePages(bytes)
	if n == 0 {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if f := p.freeLocked(); f >= 0 && n > f {
		return fmt.Errorf("%w: a charge of %d bytes needs %d pages, %d free", ErrBudget, bytes, n, f)
	}
	p.charged += n
	s.charged += n
	return nil
}

// ChargeBytes is what a charge of bytes counts against the budget: whole
// pages.
func (p *Pool) ChargeBytes(bytes int64) int64 { return int64(p.chargePages(bytes)) * p.pageBytes }

func (p *Pool) chargePages(bytes int64) int {
	if bytes <= 0 {
		return 0
	}
	return int((bytes + p.pageBytes - 1) / p.pageBytes)
}
