package app

import (
	"context"
	"fmt"

	"github.com/opsbot/opsbot/outbox"
)

// newOutbox puts the durable outbox (config `outbox:`) in front of the
// sender: every post of the bot and its modules goes through it.
func (a *App) newOutbox() error {
	if err := a.Core.Outbox.Validate(); err != nil {
		return err
	}
	a.Outbox = outbox.New(outbox.Options{
		DB: a.Store.DB(), Dialect: a.Store.Dialect(), Sender: a.Sender, Config: a.Core.Outbox,
		Clock: a.Opts.Clock, Logger: a.Log, Metrics: a.Registry, Deliverable: a.deliverable,
	})
	a.Bot.SetPoster(a.Outbox)
	return nil
}

// startOutbox starts delivering, first what an earlier process left queued.
// It runs before anything else starts, as the job runner posts at start.
func (a *App) startOutbox(ctx context.Context) error {
	if err := a.Outbox.Start(ctx); err != nil {
		return fmt.Errorf("start outbox: %w", err)
	}
	return nil
}

// stopOutbox stops delivering, last: what is still queued stays for the next start.
func (a *App) stopOutbox(ctx context.Context) {
	if a.Outbox == nil {
		return
	}
	if err := a.Outbox.Stop(ctx); err != nil {
		a.Log.Warn("stop outbox", "err", err)
	}
}
