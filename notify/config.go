package notify

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/opsbot/opsbot/config"
)

// Defaults of the root route, inherited by every route that sets nothing.
const (
	DefaultGroupWait      = 30 * time.Second
	DefaultGroupInterval  = 5 * time.Minute
	DefaultRepeatInterval = 4 * time.Hour
	DefaultPollInterval   = 500 * time.Millisecond
)

// Config is the `routes:` section: the root route, which is the default
// route every event that no child route takes goes to, plus settings of the
// pipeline itself.
type Config struct {
	Route `yaml:",inline"`
	// DefaultAdapter is the adapter of rooms written without one ("#ops").
	// When empty, the bot's only adapter is used; with several adapters,
	// such rooms are an error at start.
	DefaultAdapter string `yaml:"default_adapter"`
	// Timezone of mute_when windows (default: the global `timezone`, else UTC).
	Timezone string `yaml:"timezone"`
	// PollInterval is how often the event log is read when no wake-up
	// signal arrives (default 500ms).
	PollInterval time.Duration `yaml:"poll_interval"`
}

// Route is one node of the route tree.
type Route struct {
	// Name identifies the route in metrics, logs and stored state (default:
	// its position, "root", "root/0", "root/0/1").
	Name string `yaml:"name"`
	// Match is equality: the keys tag (a tag pattern: deploy.*, alert.**),
	// severity, status and source are the event's fields; any other key is a label.
	Match map[string]string `yaml:"match"`
	// MatchRE is the same keys matched against anchored regular expressions.
	MatchRE map[string]string `yaml:"match_re"`
	// Rooms are where posts go: "adapter:room" ("slack:#ops", "shell:ops",
	// "web:general") or "#ops" / "ops" on the default adapter. Inherited.
	Rooms []string `yaml:"rooms"`
	// Continue keeps trying the following sibling routes after this one matched.
	Continue bool `yaml:"continue"`
	// GroupBy turns aggregation on: events with equal values of these labels
	// (tag, severity and source may be named too; "..." means all labels)
	// become one group, posted together. Without it every event is posted at
	// once. Inherited; `group_by: []` turns it off below a route that groups.
	GroupBy *[]string `yaml:"group_by"`
	// GroupWait is how long a new group waits for more events before its first post.
	GroupWait *time.Duration `yaml:"group_wait"`
	// GroupInterval is how long a group waits before posting what changed.
	GroupInterval *time.Duration `yaml:"group_interval"`
	// RepeatInterval is how long before a group still firing is posted again.
	RepeatInterval *time.Duration `yaml:"repeat_interval"`
	// Throttle allows at most one post per interval per group (per route
	// without group_by); 0 means no limit.
	Throttle *time.Duration `yaml:"throttle"`
	// MuteWhen are time windows in which the route posts nothing.
	MuteWhen []Window `yaml:"mute_when"`
	// Mention lists who is mentioned in posts: an opsbot user ("alice"), a
	// group ("group:dba") or a label whose value names users or groups
	// ("label:owner").
	Mention []string `yaml:"mention"`
	// Run is a chat command run for each new firing event, with
	// placeholders {tag}, {severity}, {source}, {fingerprint} and
	// {labels.NAME}; its output goes to the route's rooms. Not inherited.
	Run string `yaml:"run"`
	// As is the opsbot user the command runs as, with that user's permissions.
	As string `yaml:"as"`
	// Routes are the child routes, tried in order.
	Routes []Route `yaml:"routes"`
}

// Window is a mute window: every weekday (any when empty) at the times
// (all day when empty), in the configured timezone.
type Window struct {
	// Weekdays: monday … sunday, or ranges "monday:friday".
	Weekdays []string `yaml:"weekdays"`
	// Times: "HH:MM-HH:MM"; an end before the start wraps past midnight.
	Times []string `yaml:"times"`
}

var eventKeys = map[string]bool{"tag": true, "severity": true, "status": true, "source": true}

var (
	labelName    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]*$`)
	placeholder  = regexp.MustCompile(`\{([^{}]*)\}`)
	clockTimeRE  = regexp.MustCompile(`^(\d{1,2}):(\d{2})$`)
	validRunKeys = map[string]bool{"tag": true, "severity": true, "source": true, "fingerprint": true, "status": true}
)

// Validate checks the section.
func (c *Config) Validate() error {
	var errs config.FieldErrors
	if len(c.Match) > 0 || len(c.MatchRE) > 0 {
		errs.Add("match", "the root route matches every event: put matchers on child routes")
	}
	if c.Timezone != "" {
		if _, err := time.LoadLocation(c.Timezone); err != nil {
			errs.Add("timezone", "%q is not a time zone", c.Timezone)
		}
	}
	if c.PollInterval < 0 {
		errs.Add("poll_interval", "must not be negative")
	}
	c.Route.validate(&errs, "")
	names := map[string]string{}
	walkConfig(&c.Route, "root", func(r *Route, id, path string) {
		if prev, ok := names[id]; ok {
			errs.Add(config.JoinPath(path, "name"), "%q is already the name of the route at %s", id, prev)
		}
		names[id] = path
	}, "")
	return errs.Err()
}

func walkConfig(r *Route, id string, fn func(r *Route, id, path string), path string) {
	if r.Name != "" {
		id = r.Name
	}
	fn(r, id, path)
	for i := range r.Routes {
		walkConfig(&r.Routes[i], fmt.Sprintf("%s/%d", id, i), fn, config.JoinPath(path, config.Path("routes", i)))
	}
}

func (r *Route) validate(errs *config.FieldErrors, path string) {
	at := func(rel string) string { return config.JoinPath(path, rel) }
	for k, v := range r.Match {
		if !eventKeys[k] && !labelName.MatchString(k) {
			errs.Add(at(config.Path("match", k)), "%q is not a label name", k)
		}
		if k == "severity" && !validSeverity(v) {
			errs.Add(at(config.Path("match", k)), "%q is not one of info, warning, critical", v)
		}
		if k == "status" && v != "firing" && v != "resolved" {
			errs.Add(at(config.Path("match", k)), "%q is not one of firing, resolved", v)
		}
	}
	for k, v := range r.MatchRE {
		if !eventKeys[k] && !labelName.MatchString(k) {
			errs.Add(at(config.Path("match_re", k)), "%q is not a label name", k)
		}
		if _, err := regexp.Compile("^(?:" + v + ")$"); err != nil {
			errs.Add(at(config.Path("match_re", k)), "bad regular expression: %v", err)
		}
	}
	for i, room := range r.Rooms {
		if _, err := ParseRoom(room); err != nil {
			errs.Add(at(config.Path("rooms", i)), "%v", err)
		}
	}
	var groupBy []string
	if r.GroupBy != nil {
		groupBy = *r.GroupBy
	}
	for i, g := range groupBy {
		if g != "..." && !labelName.MatchString(g) {
			errs.Add(at(config.Path("group_by", i)), "%q is not a label name", g)
		}
		if g == "..." && len(groupBy) > 1 {
			errs.Add(at(config.Path("group_by", i)), `"..." groups by all labels: it comes alone`)
		}
	}
	for name, d := range map[string]*time.Duration{"group_wait": r.GroupWait, "group_interval": r.GroupInterval, "repeat_interval": r.RepeatInterval, "throttle": r.Throttle} {
		if d == nil {
			continue
		}
		if *d < 0 || (*d == 0 && (name == "group_interval" || name == "repeat_interval")) {
			errs.Add(at(name), "must be positive")
		}
	}
	for i, w := range r.MuteWhen {
		if _, err := w.compile(); err != nil {
			errs.Merge(at(config.Path("mute_when", i)), err)
		}
	}
	for i, m := range r.Mention {
		if err := validMention(m); err != nil {
			errs.Add(at(config.Path("mention", i)), "%v", err)
		}
	}
	switch {
	case r.Run != "" && r.As == "":
		errs.Add(at("as"), "is required with run: the opsbot user the command runs as")
	case r.Run == "" && r.As != "":
		errs.Add(at("run"), "is required with as")
	}
	for _, m := range placeholder.FindAllStringSubmatch(r.Run, -1) {
		if !validRunKeys[m[1]] && !strings.HasPrefix(m[1], "labels.") {
			errs.Add(at("run"), "unknown placeholder {%s}: use {tag}, {severity}, {status}, {source}, {fingerprint} or {labels.NAME}", m[1])
		}
	}
	for i := range r.Routes {
		r.Routes[i].validate(errs, at(config.Path("routes", i)))
	}
}

func validSeverity(s string) bool { return s == "info" || s == "warning" || s == "critical" }

func validMention(m string) error {
	kind, v, ok := strings.Cut(m, ":")
	if !ok {
		if m == "" {
			return fmt.Errorf("empty mention")
		}
		return nil
	}
	switch kind {
	case "group", "user":
		if v == "" {
			return fmt.Errorf("%q names nobody", m)
		}
	case "label":
		if !labelName.MatchString(v) {
			return fmt.Errorf("%q: %q is not a label name", m, v)
		}
	default:
		return fmt.Errorf("%q: want a user, group:NAME or label:NAME", m)
	}
	return nil
}
