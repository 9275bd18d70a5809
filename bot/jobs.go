package bot

import (
	"errors"
	"fmt"

	"github.com/opsbot/opsbot/jobs"
)

// ErrNoJobs is returned by Host.Job when the bot has no job runner.
var ErrNoJobs = errors.New("the bot has no job runner (SetJobs was not called)")

// SetJobs gives the bot its job runner; the app calls it before Provision,
// and starts the runner once the modules have registered their kinds.
func (b *Bot) SetJobs(r *jobs.Runner) { b.jobs = r }

// Job declares a kind of background job (see package jobs).
func (h *Host) Job(k jobs.Kind) error {
	if h.bot.jobs == nil {
		return fmt.Errorf("job kind %s: %w", k.Name, ErrNoJobs)
	}
	return h.bot.jobs.Register(k)
}

// Jobs is the bot's job runner (nil when it has none), to enqueue, run,
// list and cancel jobs.
func (h *Host) Jobs() *jobs.Runner { return h.bot.jobs }
