package app

import (
	"context"
	"time"

	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/inbound"
	"github.com/opsbot/opsbot/lease"
)

// ReplicasConfig is the `replicas:` section: how replicas sharing a
// PostgreSQL database divide the work (docs/replicas.md). It has no effect
// on SQLite, where one process runs.
type ReplicasConfig struct {
	// Name of this replica in leases and claims (default host-pid-random).
	Name string `yaml:"name"`
	// LeaseTTL: a single-connection chat (IRC, XMPP, Discord) and the
	// notify pipeline move to another replica this long after their holder
	// dies (default 15s).
	LeaseTTL time.Duration `yaml:"lease_ttl"`
	// ClaimStale: a message claimed by a replica that died before replying
	// is handled by another after this long (default 1m).
	ClaimStale time.Duration `yaml:"claim_stale"`
}

// singleConnection is a chat adapter of which one connection only may run
// in a cluster (IRC and XMPP nicks, a Discord gateway session).
type singleConnection interface {
	SingleConnection() bool
}

func singleAdapters(adapters []chat.Adapter) map[string]bool {
	out := map[string]bool{}
	for _, a := range adapters {
		if s, ok := a.(singleConnection); ok && s.SingleConnection() {
			out[a.Name()] = true
		}
	}
	return out
}

// setupReplicas gives the bot leases and inbound claims on PostgreSQL.
func (a *App) setupReplicas() {
	if a.Store.Dialect() != "postgres" {
		return
	}
	c := a.Core.Replicas
	a.Leases = lease.New(a.Store.DB(), lease.Options{Holder: c.Name, TTL: c.LeaseTTL, Clock: a.Opts.Clock, Logger: a.Log})
	a.Claims = inbound.New(a.Store.DB(), inbound.Options{
		Holder: a.Leases.Holder(), Stale: c.ClaimStale, Clock: a.Opts.Clock, Logger: a.Log, Metrics: a.Registry,
	})
	a.Bot.SetLeases(a.Leases)
	a.Bot.SetClaimer(a.Claims)
	stale := c.ClaimStale
	if stale <= 0 {
		stale = inbound.DefaultStale
	}
	// Chats every replica follows (the web chat's shared history).
	for _, m := range a.Modules {
		if w, ok := m.(interface{ ChatAdapter() chat.Adapter }); ok {
			if r, ok := w.ChatAdapter().(interface{ SetReplicated(time.Duration) }); ok {
				r.SetReplicated(stale)
			}
		}
	}
	a.Log.Info("replicas: leases and inbound claims on", "replica", a.Leases.Holder(), "lease_ttl", a.Leases.TTL())
}

// leaseName is the lease of a single-connection adapter.
func leaseName(adapter string) string { return "adapter/" + adapter }

// deliverable tells the outbox whether this replica delivers an adapter's
// posts now: always, except a single-connection chat's, which the replica
// holding its connection delivers.
func (a *App) deliverable(adapter string) bool {
	if a.Leases == nil || !a.single[adapter] {
		return true
	}
	return a.Leases.Held(leaseName(adapter))
}

// RunAdapters returns the adapters for Bot.Run: with replicas, each
// single-connection adapter runs only while this replica holds its lease.
func (a *App) RunAdapters(adapters []chat.Adapter) []chat.Adapter {
	if a.Leases == nil {
		return adapters
	}
	out := make([]chat.Adapter, len(adapters))
	for i, ad := range adapters {
		out[i] = ad
		if a.single[ad.Name()] {
			out[i] = leased{Adapter: ad, leases: a.Leases}
		}
	}
	return out
}

// leased runs its adapter's connection under the adapter's lease.
type leased struct {
	chat.Adapter
	leases *lease.Manager
}

func (l leased) Run(ctx context.Context, in chan<- chat.Message) error {
	l.leases.Hold(ctx, leaseName(l.Name()), func(ctx context.Context) error {
		return l.Adapter.Run(ctx, in)
	})
	return nil
}
