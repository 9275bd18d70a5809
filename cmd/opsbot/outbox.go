package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/opsbot/opsbot/outbox"
)

// OutboxCmd inspects the outbox of posts.
type OutboxCmd struct {
	Failed OutboxFailedCmd `cmd:"" help:"List the posts the outbox gave up on, newest first."`
	Retry  OutboxRetryCmd  `cmd:"" help:"Put failed posts back in their room's queue; a running opsbot delivers them."`
}

// OutboxFailedCmd lists failed posts.
type OutboxFailedCmd struct {
	Limit int  `help:"At most this many posts." default:"100"`
	JSON  bool `name:"json" help:"One JSON object per line."`
}

func (c *OutboxFailedCmd) Run(ctx context.Context, g *Globals) error {
	a, err := openStore(ctx, g)
	if err != nil {
		return err
	}
	defer a.Close()
	o := outbox.New(outbox.Options{DB: a.Store.DB(), Dialect: a.Store.Dialect(), Logger: a.Log})
	failed, err := o.Failed(ctx, c.Limit)
	if err != nil {
		return err
	}
	if c.JSON {
		enc := json.NewEncoder(os.Stdout)
		for _, e := range failed {
			if err := enc.Encode(e); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tWRITTEN\tROOM\tATTEMPTS\tERROR\tTEXT")
	for _, e := range failed {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\t%s\n", e.ID, e.Enqueued.Local().Format("2006-01-02 15:04:05"), e.Room,
			e.Attempts, oneLine(e.Error, 60), oneLine(e.Post.Text, 60))
	}
	return tw.Flush()
}

// OutboxRetryCmd requeues failed posts.
type OutboxRetryCmd struct {
	IDs []int64 `arg:"" name:"id" help:"Post IDs (from outbox failed)."`
}

func (c *OutboxRetryCmd) Run(ctx context.Context, g *Globals) error {
	a, err := openStore(ctx, g)
	if err != nil {
		return err
	}
	defer a.Close()
	o := outbox.New(outbox.Options{DB: a.Store.DB(), Dialect: a.Store.Dialect(), Logger: a.Log})
	var missing []string
	for _, id := range c.IDs {
		ok, err := o.Requeue(ctx, id)
		if err != nil {
			return err
		}
		if !ok {
			missing = append(missing, fmt.Sprint(id))
			continue
		}
		fmt.Printf("post %d requeued\n", id)
	}
	if len(missing) > 0 {
		return fmt.Errorf("no failed post %s", strings.Join(missing, ", "))
	}
	return nil
}

// oneLine shortens s to one line of at most n runes.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
