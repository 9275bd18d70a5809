package xmpp_test

import (
	"net"
	"sync"
	"testing"
)

// proxy stands between the adapter and prosody so that a test can break
// the connection (cut) or make it silently dead (freeze).
type proxy struct {
	l      net.Listener
	target string

	mu     sync.Mutex
	conns  []net.Conn
	frozen []chan struct{}
	stop   chan struct{}
}

func newProxy(t testing.TB, target string) *proxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{l: l, target: target, stop: make(chan struct{})}
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *proxy) addr() string { return p.l.Addr().String() }

func (p *proxy) accept() {
	for {
		in, err := p.l.Accept()
		if err != nil {
			return
		}
		out, err := net.Dial("tcp", p.target)
		if err != nil {
			in.Close()
			continue
		}
		freeze := make(chan struct{})
		p.mu.Lock()
		p.conns = append(p.conns, in, out)
		p.frozen = append(p.frozen, freeze)
		p.mu.Unlock()
		go p.pipe(out, in, freeze)
		go p.pipe(in, out, freeze)
	}
}

// pipe copies until either side ends, or stops copying (without closing)
// once freeze is closed.
func (p *proxy) pipe(dst, src net.Conn, freeze chan struct{}) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		select {
		case <-freeze:
			<-p.stop // a dead link: nothing passes, nothing closes
			return
		default:
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				src.Close()
				return
			}
		}
		if err != nil {
			dst.Close()
			return
		}
	}
}

// cut closes every connection made so far.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// freeze stops traffic on every connection made so far, without closing them.
func (p *proxy) freeze() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, f := range p.frozen {
		close(f)
	}
	p.frozen = nil
}

func (p *proxy) close() {
	close(p.stop)
	p.l.Close()
	p.cut()
}
