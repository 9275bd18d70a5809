package config_test

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/opsbot/opsbot/config"
)

// The sections below imitate what opsbot's modules register.

type botConfig struct {
	Name    string   `yaml:"name"`
	Aliases []string `yaml:"aliases"`
	Prefix  string   `yaml:"prefix"`
}

func (b botConfig) Validate() error {
	var errs config.FieldErrors
	if len(b.Prefix) > 3 {
		errs.Add("prefix", "%q is longer than 3 characters", b.Prefix)
	}
	for i, a := range b.Aliases {
		if a == b.Name {
			errs.Add(config.Path("aliases", i), "repeats the name")
		}
	}
	return errs.Err()
}

type databaseConfig struct {
	URL      config.Secret   `yaml:"url"`
	MaxConns uint8           `yaml:"max_conns"`
	Idle     config.Duration `yaml:"idle"`
	Ratio    float64         `yaml:"ratio"`
	Extra    map[string]any  `yaml:"extra"`
}

// severity decodes itself from a name.
type severity int

func (s *severity) UnmarshalYAML(n *yaml.Node) error {
	switch n.Value {
	case "info":
		*s = 0
	case "warning":
		*s = 1
	case "critical":
		*s = 2
	default:
		return fmt.Errorf("unknown severity %q (info, warning or critical)", n.Value)
	}
	return nil
}

// argv is a list, or one string split on spaces; it uses Node.Decode.
type argv []string

func (a *argv) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*a = strings.Fields(n.Value)
		return nil
	}
	var s []string
	if err := n.Decode(&s); err != nil {
		return err
	}
	*a = s
	return nil
}

type command struct {
	Name       string            `yaml:"name"`
	Argv       argv              `yaml:"argv"`
	Env        map[string]string `yaml:"env,omitempty"`
	Timeout    time.Duration     `yaml:"timeout"`
	Background bool              `yaml:"background"`
	Severity   severity          `yaml:"severity"`
	Retries    int               `yaml:"retries,omitempty"`
	Internal   string            `yaml:"-"`
}

func (c *command) Validate() error {
	var errs config.FieldErrors
	if c.Name == "" {
		errs.Add("name", "is required")
	}
	if len(c.Argv) == 0 {
		errs.Add("argv", "is required")
	}
	if c.Timeout < 0 {
		errs.Add("timeout", "must not be negative")
	}
	return errs.Err()
}

// commandList checks what one command cannot: names are unique.
type commandList []command

func (cl commandList) Validate() error {
	var errs config.FieldErrors
	seen := map[string]int{}
	for i, c := range cl {
		if j, dup := seen[c.Name]; dup && c.Name != "" {
			errs.Add(config.Path(i, "name"), "%q is already the name of commands[%d]", c.Name, j)
		}
		seen[c.Name] = i
	}
	return errs.Err()
}

type hook struct {
	Secret config.Secret `yaml:"secret"`
	Events []string      `yaml:"events"`
}

type netBase struct {
	Bind netip.Addr `yaml:"bind"`
	MTU  uint16     `yaml:"mtu"`
}

type netConfig struct {
	netBase `yaml:",inline"`
	Weights []float64       `yaml:"weights"`
	Opts    map[string]bool `yaml:"opts"`
}

type fixture struct {
	Bot      botConfig
	Listen   string
	Database databaseConfig
	Timezone *string
	Commands commandList
	Hooks    map[string]hook
	Net      netConfig
}

func newFixture() *fixture {
	return &fixture{
		Bot:      botConfig{Name: "opsbot", Prefix: "!"},
		Listen:   "127.0.0.1:8080",
		Database: databaseConfig{MaxConns: 4, Idle: config.Duration(5 * time.Minute)},
		Hooks:    map[string]hook{"github": {Events: []string{"push"}}},
		Net:      netConfig{netBase: netBase{MTU: 1500}},
	}
}

func (f *fixture) register(l *config.Loader) error {
	for _, s := range []struct {
		name   string
		target any
	}{
		{"bot", &f.Bot},
		{"listen", &f.Listen},
		{"database", &f.Database},
		{"timezone", &f.Timezone},
		{"commands", &f.Commands},
		{"hooks", &f.Hooks},
		{"net", &f.Net},
	} {
		if err := l.Register(s.name, s.target); err != nil {
			return err
		}
	}
	return nil
}
