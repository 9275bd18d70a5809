// Package provider is what deploys an app: a small interface each provider
// package (shell, jenkins, githubactions, heroku, kubernetes, bluegreen)
// implements, and what they share — running a program in its own process
// group with its output streamed, and the timeout every deployment has.
package provider

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"
)

// Request is one deployment, as a provider sees it.
type Request struct {
	ID         int64  // the deployment's number
	App        string // "api"
	Env        string // "staging"
	Ref        string // what was asked for: "main", "feature-x", a tag
	SHA        string // the commit it resolved to ("" when unknown)
	Task       string // "deploy", "deploy:migrate" → "migrate"
	Hosts      string // "web1,web2" when narrowed, else ""
	User       string // who deploys (the opsbot user)
	Repository string // "owner/name", when known
	URL        string // the environment's URL, when configured
	Dir        string // a checkout of SHA, when the app asks for one
	// Extra are more environment variables for a deploying program
	// (DEPLOY_COLOUR from the blue-green provider).
	Extra map[string]string
	// Started, if set, is told the process group of each program a
	// provider starts, so a later opsbot can stop it if this one dies.
	Started func(pgid int)
}

// Provider deploys. Deploy writes the deployment's output to out as it
// comes (whole lines where it can) and returns when the deployment has
// finished: nil for success, an error saying why otherwise. It must return
// soon after ctx ends, stopping what it started where it can.
type Provider interface {
	Name() string
	Deploy(ctx context.Context, req Request, out io.Writer) error
}

// ErrTimeout is wrapped by Run's error when the deployment ran out of time.
var ErrTimeout = errors.New("timed out")

// Run runs p with a timeout: past it, the provider's context ends and Run
// returns an error wrapping ErrTimeout.
func Run(ctx context.Context, p Provider, req Request, out io.Writer, timeout time.Duration) error {
	if timeout <= 0 {
		return p.Deploy(ctx, req, out)
	}
	tctx, cancel := context.WithTimeoutCause(ctx, timeout, ErrTimeout)
	defer cancel()
	err := p.Deploy(tctx, req, out)
	if ctx.Err() == nil && errors.Is(context.Cause(tctx), ErrTimeout) {
		return fmt.Errorf("%s: no result after %s: %w", p.Name(), timeout, ErrTimeout)
	}
	return err
}

// Environ is the environment a deploying program gets: BRANCH, SHA,
// DEPLOY_ENV, DEPLOY_TASK, DEPLOY_HOSTS and friends.
func (r Request) Environ() []string {
	env := []string{
		"BRANCH=" + r.Ref, "REF=" + r.Ref, "SHA=" + r.SHA, "DEPLOY_APP=" + r.App, "DEPLOY_ENV=" + r.Env,
		"DEPLOY_TASK=" + r.Task, "DEPLOY_HOSTS=" + r.Hosts, "DEPLOY_USER=" + r.User,
		"DEPLOY_ID=" + fmt.Sprint(r.ID), "DEPLOY_REPOSITORY=" + r.Repository, "DEPLOY_URL=" + r.URL,
	}
	keys := make([]string, 0, len(r.Extra))
	for k := range r.Extra {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		env = append(env, k+"="+r.Extra[k])
	}
	return env
}
