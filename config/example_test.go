package config_test

import (
	"fmt"
	"time"

	"github.com/opsbot/opsbot/config"
)

// A module's section: defaults are set before Register, Validate checks what
// types cannot.
type slackConfig struct {
	Token   config.Secret `yaml:"token"`
	Channel string        `yaml:"channel"`
	Timeout time.Duration `yaml:"timeout"`
}

func (c *slackConfig) Validate() error {
	var errs config.FieldErrors
	if c.Token == "" {
		errs.Add("token", "is required")
	}
	if c.Timeout <= 0 {
		errs.Add("timeout", "must be positive")
	}
	return errs.Err()
}

func Example() {
	slack := slackConfig{Channel: "#ops", Timeout: 10 * time.Second}
	l := config.NewLoader(config.WithEnv(map[string]string{"SLACK_TOKEN": "xoxb-1"}))
	if err := l.Register("slack", &slack); err != nil {
		panic(err)
	}

	err := l.Load("opsbot.yaml", []byte("slack:\n  token: ${SLACK_TOKEN}\n  timeout: 1d\n"))
	fmt.Println(err, slack.Token, slack.Channel, slack.Timeout, l.Present("slack"))

	err = l.Load("opsbot.yaml", []byte("slack:\n  token: ${NOPE}\n  timeout: 5 minutes\n  chanel: '#x'\nslak: {}\n"))
	fmt.Println(err)
	// Output:
	// <nil> [redacted] #ops 24h0m0s true
	// opsbot.yaml:2: slack.token: environment variable NOPE is not set
	// opsbot.yaml:3: slack.timeout: "5 minutes" is not a duration
	// opsbot.yaml:4: slack.chanel: unknown key (known: token, channel, timeout)
	// opsbot.yaml:5: slak: unknown section (known: slack)
}
