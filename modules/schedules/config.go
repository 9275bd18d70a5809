package schedules

import (
	"regexp"
	"time"

	"github.com/opsbot/opsbot/config"
	"github.com/opsbot/opsbot/event"
	"github.com/opsbot/opsbot/schedule"
)

// Config is the `schedules:` section.
type Config struct {
	// Grace is how late a firing missed while opsbot was down may still run,
	// once, on start (default 15m); older ones are reported as missed.
	Grace config.Duration `yaml:"grace"`
	// Keep is how long each firing's record is kept (default 24h).
	Keep config.Duration `yaml:"keep"`
	// DefaultAdapter is the chat of rooms written without one ("#ops");
	// default: the first chat.
	DefaultAdapter string `yaml:"default_adapter"`
	// Tasks are the schedules from config.
	Tasks []Task `yaml:"tasks"`
}

// Task is one schedule from config: when, and exactly one action.
type Task struct {
	ID       string `yaml:"id"`
	When     string `yaml:"when"`
	Timezone string `yaml:"timezone"` // default: the top-level `timezone:`, else UTC
	// Room is where posts and a command's output go ("#ops", "slack:#ops").
	Room string `yaml:"room"`

	Post    string     `yaml:"post"`    // post this text
	Run     string     `yaml:"run"`     // run this command…
	As      string     `yaml:"as"`      // …as this opsbot user, with their permissions
	Monitor string     `yaml:"monitor"` // check this monitor now
	Emit    *EmitEvent `yaml:"emit"`    // emit this event
}

// EmitEvent is the event a task emits.
type EmitEvent struct {
	Tag      string            `yaml:"tag"`
	Severity string            `yaml:"severity"`
	Title    string            `yaml:"title"`
	Text     string            `yaml:"text"`
	Labels   map[string]string `yaml:"labels"`
	Room     string            `yaml:"room"`
}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,99}$`)

// Validate checks the section.
func (c *Config) Validate() error {
	var errs config.FieldErrors
	seen := map[string]bool{}
	for i, t := range c.Tasks {
		p := func(f ...any) string { return config.Path(append([]any{"tasks", i}, f...)...) }
		switch {
		case !idPattern.MatchString(t.ID):
			errs.Add(p("id"), "%q: an ID of letters, digits, '.', '_', ':', '/' or '-' is required", t.ID)
		case seen[t.ID]:
			errs.Add(p("id"), "%q is used twice", t.ID)
		}
		seen[t.ID] = true
		loc := time.UTC
		if t.Timezone != "" {
			l, err := time.LoadLocation(t.Timezone)
			if err != nil {
				errs.Add(p("timezone"), "%q is not a time zone", t.Timezone)
			} else {
				loc = l
			}
		}
		if _, err := schedule.Parse(t.When, loc, time.Now()); err != nil {
			errs.Add(p("when"), "%v", err)
		}
		n := 0
		if t.Post != "" {
			n++
			if t.Room == "" {
				errs.Add(p("room"), "is required to post")
			}
		}
		if t.Run != "" {
			n++
			if t.As == "" {
				errs.Add(p("as"), "is required to run a command: the opsbot user whose permissions it runs with")
			}
			if t.Room == "" {
				errs.Add(p("room"), "is required to run a command: its output goes there")
			}
		}
		if t.Monitor != "" {
			n++
		}
		if t.Emit != nil {
			n++
			if !event.ValidTag(t.Emit.Tag) {
				errs.Add(p("emit", "tag"), "%q is not a tag (lower-case words separated by dots)", t.Emit.Tag)
			}
			switch t.Emit.Severity {
			case "", "info", "warning", "critical":
			default:
				errs.Add(p("emit", "severity"), "%q is not info, warning or critical", t.Emit.Severity)
			}
		}
		if n != 1 {
			errs.Add(p(), "give exactly one action: post, run (with as), monitor or emit")
		}
	}
	if c.Grace.D() < 0 {
		errs.Add("grace", "must not be negative")
	}
	return errs.Err()
}
