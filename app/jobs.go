package app

import (
	"context"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/opsbot/opsbot/jobs"
)

// beforeProvision gives the bot what modules use while they provision: the
// job runner, whose kinds modules register.
func (a *App) beforeProvision(ctx context.Context) error {
	if err := a.startEvents(ctx); err != nil {
		return err
	}
	a.setupReplicas()
	if err := a.newOutbox(); err != nil {
		return err
	}
	a.Jobs = jobs.New(jobs.Options{
		Store: a.Store, Logger: a.Log, Clock: a.Opts.Clock, Metrics: a.Registry,
		Poster: a.Bot, Redactor: a.Redactor,
	})
	a.Bot.SetJobs(a.Jobs)
	// Modules that take the metrics registry and the global timezone (notify's mute windows).
	for _, m := range a.Modules {
		if c, ok := m.(interface {
			Configure(prometheus.Registerer, string)
		}); ok {
			c.Configure(a.Registry, a.Core.Timezone)
		}
	}
	return nil
}

// Start starts the job runner (resuming or marking interrupted what a
// previous process left running) and the modules' background work.
func (a *App) Start(ctx context.Context) error {
	if err := a.startOutbox(ctx); err != nil {
		return err
	}
	if err := a.Jobs.Start(ctx); err != nil {
		return fmt.Errorf("start jobs: %w", err)
	}
	if a.Claims != nil {
		go a.Claims.Run(ctx)
	}
	return a.Bot.Start(ctx)
}

// Stop stops the job runner: running jobs are cancelled or left to resume.
func (a *App) Stop(ctx context.Context) error {
	defer a.stopOutbox(ctx)
	if a.Jobs == nil {
		return nil
	}
	return a.Jobs.Stop(ctx)
}
