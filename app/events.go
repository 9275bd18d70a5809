package app

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/opsbot/opsbot/event"
	"github.com/opsbot/opsbot/event/eventsql"
	eventsmod "github.com/opsbot/opsbot/modules/events"
)

// startEvents gives the bot its event ingester: the log on the store's
// database, group commit sized by the `events:` section (defaults when the
// events module is not loaded), publishing to the bot's bus. It stops, after
// committing what is queued, when ctx ends.
func (a *App) startEvents(ctx context.Context) error {
	cfg := eventsmod.DefaultConfig()
	for _, m := range a.Modules {
		if em, ok := m.(*eventsmod.Module); ok {
			cfg = em.Config()
		}
	}
	log := eventsql.New(a.Store.DB(), a.Store.Dialect(), a.Opts.Clock.Now)
	if r, ok := a.Store.(interface{ ReadDB() *sql.DB }); ok {
		log.ReadFrom(r.ReadDB())
	}
	ing, err := event.NewIngester(ctx, event.IngesterOptions{
		Log: log, Bus: a.Bot.Events(), Clock: a.Opts.Clock, Logger: a.Log.With("component", "events"),
		Metrics: a.Registry, MaxBatch: cfg.MaxBatch, MaxWait: cfg.MaxWait,
	})
	if err != nil {
		return fmt.Errorf("events: %w", err)
	}
	a.Bot.SetIngester(ing)
	context.AfterFunc(ctx, func() {
		if err := ing.Close(context.Background()); err != nil {
			a.Log.Error("events: close the ingester", "err", err)
		}
	})
	return nil
}

// EventLog is the bot's event log with its wake-ups for durable consumers
// (nil before Build).
func (a *App) EventLog() *eventsql.Log {
	if a.Bot == nil {
		return nil
	}
	if lr, ok := a.Bot.Ingester().(event.LogReader); ok {
		if l, ok := lr.Log().(*eventsql.Log); ok {
			return l
		}
	}
	return nil
}
