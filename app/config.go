package app

import (
	"fmt"
	"strings"
	"time"

	"github.com/opsbot/opsbot/config"
	"github.com/opsbot/opsbot/outbox"
	"github.com/opsbot/opsbot/store"
)

// BotConfig is the `bot:` section.
type BotConfig struct {
	Name           string        `yaml:"name"`
	Aliases        []string      `yaml:"aliases"`
	Prefix         string        `yaml:"prefix"`
	ConfirmTimeout time.Duration `yaml:"confirm_timeout"`
}

// LogConfig is the `log:` section.
type LogConfig struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // text or json
}

// UserSeed is one entry of `users:`: a user created (if missing) at start,
// with its groups and chat identities.
type UserSeed struct {
	Name       string   `yaml:"name"`
	Groups     []string `yaml:"groups"`
	Identities []string `yaml:"identities"` // "adapter:id", e.g. "slack:U024BE7LH", "shell:alice"
}

// RuleConfig is one entry of `rules:`.
type RuleConfig struct {
	Permission string              `yaml:"permission"`
	Groups     []string            `yaml:"groups"`
	Users      []string            `yaml:"users"`
	Rooms      []string            `yaml:"rooms"`
	Args       map[string][]string `yaml:"args"`
}

// Core is the part of the config the app itself owns.
type Core struct {
	Bot      BotConfig           `yaml:"bot"`
	Listen   string              `yaml:"listen"`
	Database config.Secret       `yaml:"database"`
	Timezone string              `yaml:"timezone"`
	Log      LogConfig           `yaml:"log"`
	Users    UserSeeds           `yaml:"users"`
	Groups   map[string][]string `yaml:"groups"`
	Rules    RuleConfigs         `yaml:"rules"`
	Outbox   outbox.Config       `yaml:"outbox"`
	Adapters AdaptersConfig      `yaml:"adapters"`
	Replicas ReplicasConfig      `yaml:"replicas"`
}

// UserSeeds is the `users:` section.
type UserSeeds []UserSeed

// RuleConfigs is the `rules:` section.
type RuleConfigs []RuleConfig

// DefaultCore is the configuration with no config file.
func DefaultCore() Core {
	return Core{
		Bot:    BotConfig{Name: "opsbot", ConfirmTimeout: 2 * time.Minute},
		Listen: "127.0.0.1:8080",
		Log:    LogConfig{Level: "info", Format: "text"},
	}
}

func (c *Core) register(l *config.Loader) error {
	for name, target := range map[string]any{
		"bot": &c.Bot, "listen": &c.Listen, "database": &c.Database, "timezone": &c.Timezone,
		"log": &c.Log, "adapters": &c.Adapters, "users": &c.Users, "groups": &c.Groups, "rules": &c.Rules, "outbox": &c.Outbox,
		"replicas": &c.Replicas,
	} {
		if err := l.Register(name, target); err != nil {
			return err
		}
	}
	return nil
}

// Validate checks the bot section.
func (c *BotConfig) Validate() error {
	var errs config.FieldErrors
	if c.Name == "" || strings.ContainsAny(c.Name, " \t") {
		errs.Add("name", "must be one word")
	}
	if c.ConfirmTimeout <= 0 {
		errs.Add("confirm_timeout", "must be positive")
	}
	return errs.Err()
}

// Validate checks the log section.
func (c *LogConfig) Validate() error {
	var errs config.FieldErrors
	switch c.Level {
	case "debug", "info", "warn", "error":
	default:
		errs.Add("level", "%q is not one of debug, info, warn, error", c.Level)
	}
	switch c.Format {
	case "text", "json":
	default:
		errs.Add("format", "%q is not one of text, json", c.Format)
	}
	return errs.Err()
}

// Validate checks the users section.
func (us UserSeeds) Validate() error {
	var errs config.FieldErrors
	for i, u := range us {
		if u.Name == "" {
			errs.Add(config.Path(i, "name"), "is required")
		}
		for j, id := range u.Identities {
			if a, v, ok := strings.Cut(id, ":"); !ok || a == "" || v == "" {
				errs.Add(config.Path(i, "identities", j), "%q is not adapter:id", id)
			}
		}
	}
	return errs.Err()
}

// Validate checks the rules section.
func (rs RuleConfigs) Validate() error {
	var errs config.FieldErrors
	for i, r := range rs {
		if r.Permission == "" {
			errs.Add(config.Path(i, "permission"), "is required")
		}
		if len(r.Groups) == 0 && len(r.Users) == 0 {
			errs.Add(config.Path(i), "grants to nobody: give groups or users")
		}
	}
	return errs.Err()
}

func validTimezone(tz string) error {
	if tz == "" {
		return nil
	}
	if _, err := time.LoadLocation(tz); err != nil {
		return fmt.Errorf("%q is not a time zone", tz)
	}
	return nil
}

// StaticRules turns `rules:` into store rules (ID 0 marks them as from config).
func (c *Core) StaticRules() []store.Rule {
	var out []store.Rule
	for _, r := range c.Rules {
		for _, g := range r.Groups {
			out = append(out, store.Rule{Permission: r.Permission, Subject: "group:" + g, Rooms: r.Rooms, Args: r.Args})
		}
		for _, u := range r.Users {
			out = append(out, store.Rule{Permission: r.Permission, Subject: "user:" + u, Rooms: r.Rooms, Args: r.Args})
		}
	}
	return out
}
