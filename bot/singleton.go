package bot

import (
	"context"

	"github.com/opsbot/opsbot/lease"
)

// SetLeases gives the bot the lease manager of a replica sharing its
// database with others (PostgreSQL); without one, the process is alone and
// Singleton runs its function at once.
func (b *Bot) SetLeases(m *lease.Manager) { b.leases = m }

// Leases is the replica's lease manager, nil when the process is alone.
func (b *Bot) Leases() *lease.Manager { return b.leases }

// Singleton runs fn in the background on one replica at a time, until ctx
// ends: on the replica holding the lease "module/name", handed over when
// that replica stops or dies. Alone (SQLite), fn just runs. Use it for work
// every replica would otherwise do twice: polling a source that turns into
// events, a pipeline reading the event log.
func (h *Host) Singleton(ctx context.Context, name string, fn func(ctx context.Context) error) {
	b := h.bot
	full := h.module + "/" + name
	if b.leases == nil {
		go func() {
			if err := fn(ctx); err != nil && ctx.Err() == nil {
				b.log.Error("background work stopped", "module", h.module, "name", name, "err", err)
			}
		}()
		return
	}
	go b.leases.Hold(ctx, full, fn)
}
