package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/opsbot/opsbot/lease"
)

// LeasesCmd lists what replicas hold: which replica has the IRC connection,
// the notify pipeline… (docs/replicas.md).
type LeasesCmd struct {
	JSON bool `name:"json" help:"One JSON object per line."`
}

func (c *LeasesCmd) Run(ctx context.Context, g *Globals) error {
	a, err := openStore(ctx, g)
	if err != nil {
		return err
	}
	defer a.Close()
	list, err := lease.New(a.Store.DB(), lease.Options{}).List(ctx)
	if err != nil {
		return err
	}
	if c.JSON {
		enc := json.NewEncoder(os.Stdout)
		for _, l := range list {
			if err := enc.Encode(l); err != nil {
				return err
			}
		}
		return nil
	}
	if len(list) == 0 {
		fmt.Println("no leases: no replica holds anything (one process on SQLite needs none)")
		return nil
	}
	now := time.Now()
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "LEASE\tHOLDER\tHELD FOR\tSTATE")
	for _, l := range list {
		state := "expires in " + l.Expires.Sub(now).Round(time.Second).String()
		if !l.Expires.After(now) {
			state = "expired " + now.Sub(l.Expires).Round(time.Second).String() + " ago (free to take)"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", l.Name, l.Holder, now.Sub(l.Acquired).Round(time.Second), state)
	}
	return w.Flush()
}
