package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/opsbot/opsbot/app"
	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/httpapi"
	"github.com/opsbot/opsbot/web"
)

// ServeCmd runs everything.
type ServeCmd struct {
	Listen string `help:"Address to listen on (default from config, else 127.0.0.1:8080)."`
	Pprof  string `help:"Serve Go's profiler (net/http/pprof) on this address, e.g. 127.0.0.1:6060; keep it on loopback." env:"OPSBOT_PPROF"`
}

func (c *ServeCmd) Run(ctx context.Context, g *Globals) error {
	start := time.Now()
	a, err := app.LoadConfig(g.options())
	if err != nil {
		return err
	}
	listen := c.Listen
	if listen == "" {
		listen = a.Core.Listen
	}
	srv := httpapi.New(a.Log, a.Registry)
	l, err := srv.Listen(listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", listen, err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, l) }()
	if c.Pprof != "" {
		if err := servePprof(ctx, c.Pprof, a.Log); err != nil {
			return err
		}
	}

	// The listener answers /healthz and a 503 on /readyz while the store
	// migrates and the modules provision; nothing is accepted before that.
	if err := a.OpenStore(ctx); err != nil {
		return err
	}
	defer a.Close()
	// On first start, the web console's admin; the password is shown here once and never logged.
	adminPassword, err := web.Bootstrap(ctx, a.Store)
	if err != nil {
		return err
	}
	configured, err := a.ChatAdapters()
	if err != nil {
		return err
	}
	adapters := append(chatAdapters(a.Modules), configured...)
	if err := a.Build(ctx, adapters...); err != nil {
		return err
	}
	for _, r := range a.Bot.Routes() {
		if r.Scope != "" {
			srv.HandleAPI(r.Pattern, r.Scope, r.Handler)
		} else {
			srv.Handle(r.Pattern, r.Handler)
		}
	}
	for _, ad := range configured { // routes a chat adapter takes requests on (Teams' messaging endpoint, Mattermost's button clicks)
		if r, ok := ad.(routedAdapter); ok {
			for pattern, h := range r.Routes() {
				srv.Handle(pattern, h)
			}
		}
	}
	srv.HandleAPI("GET /api/v1/audit", "audit:read", srv.AuditHandler())
	if err := a.Start(ctx); err != nil {
		return err
	}
	defer a.Stop(context.WithoutCancel(ctx))
	srv.SetReady(a.Store)
	url := "http://" + l.Addr().String()
	a.Log.Info("opsbot ready", "url", url, "database", a.Store.Dialect(), "config", a.ConfigPath, "startup_ms", time.Since(start).Milliseconds())
	fmt.Fprintf(os.Stderr, "opsbot is listening on %s (health %s/healthz)\n", url, url)
	fmt.Fprintf(os.Stderr, "web console: %s/\n", url)
	if adminPassword != "" {
		fmt.Fprintf(os.Stderr, "first start: log in as %q with the one-time password %s (it is not shown again)\n", web.AdminName, adminPassword)
	}

	runErr := make(chan error, 1)
	go func() { runErr <- a.Bot.Run(ctx, a.RunAdapters(adapters)...) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
		<-served
		return nil
	}
}

// routedAdapter is a chat adapter that takes HTTP requests on opsbot's listener.
type routedAdapter interface {
	Routes() map[string]http.Handler
}

// chatAdapters are the chat adapters modules bring (the web console's).
func chatAdapters(mods []bot.Module) []chat.Adapter {
	var out []chat.Adapter
	for _, m := range mods {
		if c, ok := m.(interface{ ChatAdapter() chat.Adapter }); ok {
			out = append(out, c.ChatAdapter())
		}
	}
	return out
}
