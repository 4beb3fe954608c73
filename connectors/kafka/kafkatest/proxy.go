package kafkatest

import (
	"net"
	"sync"
	"testing"
	"time"
)

// Proxy forwards TCP connections from its address to a target, and can cut
// the network for a while as a partition does: during a cut no byte moves
// in either direction on any connection and new connections are accepted
// but never answered (the clients see timeouts, not resets); when the cut
// ends, the stalled connections are closed and new ones are forwarded.
type Proxy struct {
	Addr   string
	target string
	ln     net.Listener

	mu      sync.Mutex
	cutTill time.Time
	conns   map[net.Conn]bool
}

// NewProxy listens on 127.0.0.1:port ("0": a free port) and forwards to
// target; it closes when the test ends.
func NewProxy(t testing.TB, port, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{Addr: ln.Addr().String(), target: target, ln: ln, conns: map[net.Conn]bool{}}
	go p.accept()
	t.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		for c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
	})
	return p
}

// SetTarget changes where new connections go.
func (p *Proxy) SetTarget(target string) {
	p.mu.Lock()
	p.target = target
	p.mu.Unlock()
}

// Cut stops all traffic for d, from now.
func (p *Proxy) Cut(d time.Duration) {
	p.mu.Lock()
	p.cutTill = time.Now().Add(d)
	p.mu.Unlock()
	time.AfterFunc(d, func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		for c := range p.conns { // a healed partition: the old connections are gone
			c.Close()
			delete(p.conns, c)
		}
	})
}

func (p *Proxy) cut() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return time.Now().Before(p.cutTill)
}

func (p *Proxy) track(c net.Conn) {
	p.mu.Lock()
	p.conns[c] = true
	p.mu.Unlock()
}

func (p *Proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.track(c)
		go p.serve(c)
	}
}

func (p *Proxy) serve(c net.Conn) {
	for p.cut() { // accepted, never answered until the cut ends
		time.Sleep(50 * time.Millisecond)
	}
	p.mu.Lock()
	target := p.target
	p.mu.Unlock()
	u, err := net.DialTimeout("tcp", target, 5*time.Second)
	if err != nil {
		c.Close()
		return
	}
	p.track(u)
	go p.pipe(u, c)
	p.pipe(c, u)
}

// pipe copies src to dst in small steps, holding the bytes during a cut.
func (p *Proxy) pipe(dst, src net.Conn) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		for n > 0 && p.cut() {
			time.Sleep(50 * time.Millisecond)
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil { // io.EOF or a closed connection
			return
		}
	}
}
