package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/opsbot/opsbot/app"
	"github.com/opsbot/opsbot/clock"
	"github.com/opsbot/opsbot/httpapi"
	"github.com/opsbot/opsbot/modules/core"
	"github.com/opsbot/opsbot/store"
)

func openStore(ctx context.Context, g *Globals) (*app.App, error) {
	return app.Open(ctx, g.options())
}

// UserCmd manages users.
type UserCmd struct {
	Add      UserAddCmd      `cmd:"" help:"Create a user."`
	List     UserListCmd     `cmd:"" help:"List users with their groups and identities."`
	LinkCode UserLinkCodeCmd `cmd:"" name:"link-code" help:"Print a one-time code the user says in chat (link CODE) to link that chat account."`
}

// UserAddCmd creates a user.
type UserAddCmd struct {
	Name          string   `arg:"" help:"User name."`
	Group         []string `help:"Groups to put the user in (admins for an administrator)." short:"g"`
	Identity      []string `help:"Chat identities, adapter:id (slack:U024BE7LH)."`
	PasswordStdin bool     `name:"password-stdin" help:"Read a web console password from standard input."`
}

func (c *UserAddCmd) Run(ctx context.Context, g *Globals) error {
	a, err := openStore(ctx, g)
	if err != nil {
		return err
	}
	defer a.Close()
	u, err := a.Store.CreateUser(ctx, c.Name)
	if err != nil {
		return fmt.Errorf("user add %s: %w", c.Name, err)
	}
	for _, grp := range c.Group {
		if err := a.Store.AddToGroup(ctx, u.ID, grp); err != nil {
			return err
		}
	}
	for _, id := range c.Identity {
		ad, cid, ok := strings.Cut(id, ":")
		if !ok || ad == "" || cid == "" {
			return fmt.Errorf("identity %q is not adapter:id", id)
		}
		if err := a.Store.LinkIdentity(ctx, store.Identity{UserID: u.ID, Adapter: ad, ChatID: cid, Name: c.Name}); err != nil {
			return err
		}
	}
	if c.PasswordStdin {
		line, err := bufio.NewReader(os.Stdin).ReadString('\n')
		if err != nil && line == "" {
			return fmt.Errorf("read password from stdin: %w", err)
		}
		pw := strings.TrimRight(line, "\r\n")
		if len(pw) < 8 {
			return errors.New("password must be at least 8 characters")
		}
		hash, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.DefaultCost)
		if err != nil {
			return err
		}
		if err := a.Store.SetPasswordHash(ctx, u.ID, string(hash)); err != nil {
			return err
		}
	}
	fmt.Printf("created user %s\n", u.Name)
	return nil
}

// UserListCmd lists users.
type UserListCmd struct{}

func (UserListCmd) Run(ctx context.Context, g *Globals) error {
	a, err := openStore(ctx, g)
	if err != nil {
		return err
	}
	defer a.Close()
	users, err := a.Store.ListUsers(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tGROUPS\tIDENTITIES")
	for _, u := range users {
		groups, err := a.Store.GroupsOf(ctx, u.ID)
		if err != nil {
			return err
		}
		ids, err := a.Store.IdentitiesOf(ctx, u.ID)
		if err != nil {
			return err
		}
		var idk []string
		for _, id := range ids {
			idk = append(idk, id.Adapter+":"+id.ChatID)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", u.Name, strings.Join(groups, ","), strings.Join(idk, ","))
	}
	return tw.Flush()
}

// UserLinkCodeCmd prints a link code.
type UserLinkCodeCmd struct {
	Name string        `arg:"" help:"User name."`
	TTL  time.Duration `help:"How long the code is valid." default:"15m"`
}

func (c *UserLinkCodeCmd) Run(ctx context.Context, g *Globals) error {
	a, err := openStore(ctx, g)
	if err != nil {
		return err
	}
	defer a.Close()
	u, err := a.Store.UserByName(ctx, c.Name)
	if err != nil {
		return fmt.Errorf("user %s: %w", c.Name, err)
	}
	code, err := LinkCode()
	if err != nil {
		return err
	}
	if err := a.Store.CreateLinkCode(ctx, u.ID, code, time.Now().Add(c.TTL)); err != nil {
		return err
	}
	fmt.Printf("Say this to the bot from the chat account to link (valid %s, once):\n  link %s\n", c.TTL, code)
	return nil
}

// LinkCode is a one-time code: 10 characters from an alphabet without look-alikes.
func LinkCode() (string, error) {
	const alphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
	b := make([]byte, 10)
	for i := range b {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		if err != nil {
			return "", err
		}
		b[i] = alphabet[n.Int64()]
	}
	return string(b), nil
}

// AuthCmd manages permission rules.
type AuthCmd struct {
	Add    AuthAddCmd    `cmd:"" help:"Grant a permission to a user or group."`
	Remove AuthRemoveCmd `cmd:"" help:"Remove the rules granting a permission to a user or group."`
	List   AuthListCmd   `cmd:"" help:"List the permission rules (config and stored)."`
}

// AuthAddCmd grants.
type AuthAddCmd struct {
	Permission string            `arg:"" help:"Permission, e.g. deploy:production or deploy:*."`
	Subject    string            `arg:"" help:"User or group: alice, ops, user:alice, group:ops."`
	Room       []string          `help:"Only in these rooms."`
	Arg        map[string]string `help:"Only when an argument has this value (k=v; several values with |)."`
}

func (c *AuthAddCmd) Run(ctx context.Context, g *Globals) error {
	a, err := openStore(ctx, g)
	if err != nil {
		return err
	}
	defer a.Close()
	subj, err := core.Subject(ctx, a.Store, c.Subject)
	if err != nil {
		return err
	}
	r := store.Rule{Permission: c.Permission, Subject: subj, Rooms: c.Room}
	if len(c.Arg) > 0 {
		r.Args = map[string][]string{}
		for k, v := range c.Arg {
			r.Args[k] = strings.Split(v, "|")
		}
	}
	r, err = a.Store.AddRule(ctx, r)
	if err != nil {
		return err
	}
	fmt.Printf("granted %s to %s (rule %d)\n", r.Permission, subj, r.ID)
	return nil
}

// AuthRemoveCmd removes rules.
type AuthRemoveCmd struct {
	Permission string `arg:""`
	Subject    string `arg:""`
}

func (c *AuthRemoveCmd) Run(ctx context.Context, g *Globals) error {
	a, err := openStore(ctx, g)
	if err != nil {
		return err
	}
	defer a.Close()
	subj, err := core.Subject(ctx, a.Store, c.Subject)
	if err != nil {
		return err
	}
	n, err := a.Store.RemoveRules(ctx, c.Permission, subj)
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("no stored rule grants %s to %s", c.Permission, subj)
	}
	fmt.Printf("removed %d rule(s)\n", n)
	return nil
}

// AuthListCmd lists rules.
type AuthListCmd struct{}

func (AuthListCmd) Run(ctx context.Context, g *Globals) error {
	a, err := openStore(ctx, g)
	if err != nil {
		return err
	}
	defer a.Close()
	rules, err := a.Store.ListRules(ctx)
	if err != nil {
		return err
	}
	for _, l := range core.FormatRules(append(a.Core.StaticRules(), rules...), "") {
		fmt.Println(strings.ReplaceAll(l, "`", ""))
	}
	return nil
}

// TokenCmd manages API tokens.
type TokenCmd struct {
	Create TokenCreateCmd `cmd:"" help:"Create an API token; it is printed once."`
	List   TokenListCmd   `cmd:"" help:"List API tokens (never their values)."`
	Revoke TokenRevokeCmd `cmd:"" help:"Revoke a token by name."`
}

// TokenCreateCmd creates a token.
type TokenCreateCmd struct {
	Name  string   `required:"" help:"A name for the token (who uses it)."`
	Scope []string `required:"" help:"Scopes: events:write, audit:read, deployments:read, deployments:write, alerts:read, incidents:read, instances:read, schedules:read, monitors:read, admin."`
	User  string   `help:"The opsbot user the token acts as: APIs that act (POST /api/v1/deployments) apply this user's permissions."`
}

func (c *TokenCreateCmd) Run(ctx context.Context, g *Globals) error {
	for _, s := range c.Scope {
		if !httpapi.ValidScope(s) {
			return fmt.Errorf("unknown scope %q (known: %s)", s, strings.Join(httpapi.Scopes, ", "))
		}
	}
	a, err := openStore(ctx, g)
	if err != nil {
		return err
	}
	defer a.Close()
	if c.User != "" {
		if _, err := a.Store.UserByName(ctx, c.User); err != nil {
			return fmt.Errorf("token create %s: user %q: %w", c.Name, c.User, err)
		}
	}
	tok, hash, err := httpapi.NewToken()
	if err != nil {
		return err
	}
	if _, err := a.Store.CreateToken(ctx, store.Token{Name: c.Name, Hash: hash, Scopes: c.Scope, User: c.User, Created: time.Now()}); err != nil {
		return fmt.Errorf("token create %s: %w", c.Name, err)
	}
	as := ""
	if c.User != "" {
		as = ", acting as " + c.User
	}
	fmt.Fprintf(os.Stderr, "Token %q created with scopes %s%s. It is shown only now:\n", c.Name, strings.Join(c.Scope, ","), as)
	fmt.Println(tok)
	return nil
}

// TokenListCmd lists tokens.
type TokenListCmd struct{}

func (TokenListCmd) Run(ctx context.Context, g *Globals) error {
	a, err := openStore(ctx, g)
	if err != nil {
		return err
	}
	defer a.Close()
	toks, err := a.Store.ListTokens(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSCOPES\tUSER\tCREATED\tLAST USED\tSTATE")
	for _, t := range toks {
		state, used := "active", "never"
		if t.Revoked {
			state = "revoked"
		}
		if !t.LastUsed.IsZero() {
			used = t.LastUsed.Format(time.RFC3339)
		}
		user := t.User
		if user == "" {
			user = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", t.Name, strings.Join(t.Scopes, ","), user, t.Created.Format(time.RFC3339), used, state)
	}
	return tw.Flush()
}

// TokenRevokeCmd revokes a token.
type TokenRevokeCmd struct {
	Name string `arg:""`
}

func (c *TokenRevokeCmd) Run(ctx context.Context, g *Globals) error {
	a, err := openStore(ctx, g)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.Store.RevokeToken(ctx, c.Name); err != nil {
		return fmt.Errorf("token revoke %s: %w", c.Name, err)
	}
	fmt.Printf("revoked %s\n", c.Name)
	return nil
}

// AuditCmd queries the audit log.
type AuditCmd struct {
	User    string `help:"Only this user."`
	Command string `help:"Only this command."`
	Text    string `help:"Only entries whose text contains this."`
	Since   string `help:"Only the last DURATION (24h, 7d)."`
	Limit   int    `help:"At most this many entries." default:"100"`
	JSON    bool   `name:"json" help:"One JSON object per line."`
}

func (c *AuditCmd) Run(ctx context.Context, g *Globals) error {
	a, err := openStore(ctx, g)
	if err != nil {
		return err
	}
	defer a.Close()
	f := store.AuditFilter{User: c.User, Command: c.Command, Text: c.Text, Limit: c.Limit}
	if c.Since != "" {
		d, err := clock.ParseDuration(c.Since)
		if err != nil {
			return fmt.Errorf("--since: %w", err)
		}
		f.Since = time.Now().Add(-d)
	}
	entries, err := a.Store.QueryAudit(ctx, f)
	if err != nil {
		return err
	}
	if c.JSON {
		enc := json.NewEncoder(os.Stdout)
		for _, e := range entries {
			if err := enc.Encode(httpapi.ToAuditJSON(e)); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTIME\tUSER\tROOM\tCOMMAND\tDECISION\tOUTCOME\tTEXT")
	for _, e := range entries {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.ID, e.Time.Local().Format("2006-01-02 15:04:05"), e.UserName, e.Room,
			dash(e.Command), e.Decision, dash(e.Outcome), e.Text)
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
