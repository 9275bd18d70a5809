package event

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
)

// Handler reacts to an event.
type Handler func(ctx context.Context, e Event) error

type subscription struct {
	owner   string
	pattern string
	fn      Handler
}

// Bus delivers events to the subscribers whose pattern matches the tag. A
// subscriber that fails or panics is logged and does not stop the others.
type Bus struct {
	mu   sync.RWMutex
	subs []subscription
	log  *slog.Logger
}

// NewBus returns an empty bus.
func NewBus(log *slog.Logger) *Bus {
	if log == nil {
		log = slog.Default()
	}
	return &Bus{log: log}
}

// Subscribe registers fn for tags matching pattern; owner names the subscriber in logs.
func (b *Bus) Subscribe(owner, pattern string, fn Handler) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.subs = append(b.subs, subscription{owner: owner, pattern: pattern, fn: fn})
}

// Publish calls every matching subscriber in turn and returns how many failed.
func (b *Bus) Publish(ctx context.Context, e Event) int {
	b.mu.RLock()
	subs := append([]subscription(nil), b.subs...)
	b.mu.RUnlock()
	failed := 0
	for _, s := range subs {
		if !Match(s.pattern, e.Tag) {
			continue
		}
		if err := call(ctx, s.fn, e); err != nil {
			failed++
			b.log.Error("event subscriber failed", "subscriber", s.owner, "pattern", s.pattern, "tag", e.Tag, "event", e.ID, "err", err)
		}
	}
	return failed
}

func call(ctx context.Context, fn Handler, e Event) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return fn(ctx, e)
}

// Match reports whether a dotted tag matches a pattern: "*" matches one
// segment, "**" any number of segments (including none), anything else itself.
func Match(pattern, tag string) bool {
	return matchParts(strings.Split(pattern, "."), strings.Split(tag, "."))
}

func matchParts(p, t []string) bool {
	for len(p) > 0 {
		switch p[0] {
		case "**":
			if len(p) == 1 {
				return true
			}
			for i := 0; i <= len(t); i++ {
				if matchParts(p[1:], t[i:]) {
					return true
				}
			}
			return false
		case "*":
			if len(t) == 0 {
				return false
			}
		default:
			if len(t) == 0 || !strings.EqualFold(p[0], t[0]) {
				return false
			}
		}
		p, t = p[1:], t[1:]
	}
	return len(t) == 0
}
