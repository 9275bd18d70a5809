package irc

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/opsbot/opsbot/clock"
)

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestBucketBurstThenRate(t *testing.T) {
	fake := clock.NewFake(epoch)
	b := NewBucket(fake, 2, 3)
	for i := range 3 {
		if w := b.take(); w != 0 {
			t.Fatalf("burst line %d waits %s", i+1, w)
		}
	}
	if w := b.take(); w != 500*time.Millisecond {
		t.Fatalf("the line after the burst waits %s, want 500ms", w)
	}
	fake.Advance(499 * time.Millisecond)
	if w := b.take(); w != time.Millisecond {
		t.Fatalf("1ms early, it waits %s, want 1ms", w)
	}
	fake.Advance(time.Millisecond)
	if w := b.take(); w != 0 {
		t.Fatalf("on time, it waits %s", w)
	}
	fake.Advance(time.Hour)
	for i := range 3 {
		if w := b.take(); w != 0 {
			t.Fatalf("after an idle hour, line %d waits %s: the burst is not refilled", i+1, w)
		}
	}
	if w := b.take(); w == 0 {
		t.Fatalf("the bucket holds more than its burst")
	}
}

// 200 lines at 100 a second with a burst of 10 take 1.9s of clock time.
func TestBucket200Lines(t *testing.T) {
	fake := clock.NewFake(epoch)
	b := NewBucket(fake, 100, 10)
	for range 200 {
		for w := b.take(); w > 0; w = b.take() {
			fake.Advance(w)
		}
	}
	if got, want := fake.Now().Sub(epoch), 1900*time.Millisecond; got < want || got > want+time.Millisecond {
		t.Errorf("200 lines took %s of clock time, want %s", got, want)
	}
}

// afterClock is a fake clock that reports each After, so a test knows when
// a waiter is waiting.
type afterClock struct {
	*clock.Fake
	calls chan time.Duration
}

func (c afterClock) After(d time.Duration) <-chan time.Time {
	ch := c.Fake.After(d)
	c.calls <- d
	return ch
}

func TestBucketWaitBlocksOnTheClock(t *testing.T) {
	clk := afterClock{clock.NewFake(epoch), make(chan time.Duration, 1)}
	b := NewBucket(clk, 4, 1)
	ctx := context.Background()
	if err := b.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- b.Wait(ctx) }()
	if d := <-clk.calls; d != 250*time.Millisecond {
		t.Fatalf("the second line waits %s, want 250ms", d)
	}
	select {
	case <-done:
		t.Fatal("Wait returned before the clock moved")
	default:
	}
	clk.Advance(250 * time.Millisecond)
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	// A cancelled wait returns the context's error and lets the next waiter in.
	cctx, cancel := context.WithCancel(ctx)
	go func() { done <- b.Wait(cctx) }()
	<-clk.calls
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Wait returned %v", err)
	}
	go func() { done <- b.Wait(ctx) }()
	d := <-clk.calls
	clk.Advance(d)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestBucketFits(t *testing.T) {
	fake := clock.NewFake(epoch)
	b := NewBucket(fake, 10, 5)
	if got := b.Fits(0); got != 5 {
		t.Errorf("a full bucket fits %d lines now, want 5", got)
	}
	if got := b.Fits(2 * time.Second); got != 25 {
		t.Errorf("in 2s: %d lines, want 25", got)
	}
	for range 5 {
		b.take()
	}
	fake.Advance(300 * time.Millisecond)
	if got := b.Fits(time.Second); got != 13 {
		t.Errorf("3 tokens back and 1s more: %d lines, want 13", got)
	}
}
