package main

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/opsbot/opsbot/chat/irc/ngircdtest"
	"github.com/opsbot/opsbot/store/pgtest"
)

// TestReplicasAnswerOnceThroughACrash: three `opsbot serve` processes on
// one PostgreSQL, a web-chat client sending 1,000 commands spread across
// them, and the replica holding the IRC connection killed with SIGKILL in
// the middle and started again: every command is answered exactly once, the
// IRC connection moves to another replica within the lease TTL + 5 s, and
// an event routed to IRC while nobody held the connection is delivered once.
func TestReplicasAnswerOnceThroughACrash(t *testing.T) {
	const (
		total    = 1000
		killAt   = 300
		replicas = 3
		workers  = 6
	)
	pgURL := pgtest.Start(t)
	ircd := ngircdtest.Start(t, ngircdtest.Options{})
	t.Setenv("OPSBOT_PPROF", "127.0.0.1:0") // the victim's goroutines are saved before the kill, for a failure's diagnosis
	cfg := fmt.Sprintf(`
database: %q
log: {level: debug}
replicas:
  lease_ttl: 3s
  claim_stale: 15s
commands:
  - name: echo
    grammar: "echo {text...}"
    argv: ["/bin/echo", "{text}"]
    side_effects: false
    permission: none
    concurrency: 1000
routes:
  rooms: ["irc:#ops"]
  poll_interval: 100ms
adapters:
  irc:
    server: %q
    nick: opsbot
    channels: [{name: "#ops"}]
    reconnect_min: 200ms
    reconnect_max: 1s
`, pgURL, ircd.Addr())
	dirs := make([]string, replicas)
	for i := range dirs {
		dirs[i] = t.TempDir()
		writeFile(t, filepath.Join(dirs[i], "opsbot.yaml"), cfg)
	}
	r := opsbot(t, dirs[0], "correct-horse-battery", "user", "add", "alice", "--group", "admins", "--identity", "web:alice", "--password-stdin")
	require.Equal(t, 0, r.code, r.stderr)
	r = opsbot(t, dirs[0], "", "token", "create", "--name", "ha", "--scope", "events:write")
	require.Equal(t, 0, r.code, r.stderr)
	token := strings.TrimSpace(r.stdout)

	var srvMu sync.Mutex
	var victimStacks string
	logs := make([]*lockedBuffer, replicas)
	servers := make([]*server, replicas)
	defer func() {
		if t.Failed() {
			// Go prints every goroutine's stack on SIGQUIT: what a stalled replica waits on.
			srvMu.Lock()
			for _, s := range servers {
				_ = s.cmd.Process.Signal(syscall.SIGQUIT)
			}
			srvMu.Unlock()
			time.Sleep(time.Second)
			if victimStacks != "" {
				path := filepath.Join(os.TempDir(), "opsbot-ha-victim-stacks.txt")
				_ = os.WriteFile(path, []byte(victimStacks), 0o644)
				t.Logf("the killed replica's goroutines just before the kill: %s", path)
			}
			for i, l := range logs {
				path := filepath.Join(os.TempDir(), fmt.Sprintf("opsbot-ha-replica-%d.log", i))
				_ = os.WriteFile(path, []byte(l.String()), 0o644)
				t.Logf("replica %d log (all of it in %s):\n%s", i, path, tailLines(l.String(), 40))
			}
		}
	}()
	for i := range servers {
		logs[i] = &lockedBuffer{}
		servers[i] = startServer(t, dirs[i], logs[i])
	}
	urlOf := func(i int) string { srvMu.Lock(); defer srvMu.Unlock(); return servers[i].url }

	db, err := sql.Open("pgx", pgURL)
	require.NoError(t, err)
	defer db.Close()

	// One IRC connection: the bot is in #ops once, whoever holds it.
	watcher := ngircdtest.Dial(t, ircd.Addr(), "watcher")
	defer watcher.Close()
	watcher.Join(t, "#ops", "")
	ircHolder := func() int {
		var holder string
		err := db.QueryRow(`SELECT holder FROM leases WHERE name = 'adapter/irc' AND expires > $1`, time.Now().UnixMilli()).Scan(&holder)
		if err != nil {
			return -1
		}
		srvMu.Lock()
		defer srvMu.Unlock()
		for i, s := range servers {
			if strings.Contains(holder, "-"+strconv.Itoa(s.cmd.Process.Pid)+"-") {
				return i
			}
		}
		return -1
	}
	require.Eventually(t, func() bool { return ircHolder() >= 0 }, 20*time.Second, 50*time.Millisecond, "a replica takes the IRC lease")
	watcher.Say(t, "#ops", "opsbot: ping")
	watcher.WaitFor(t, "the bot answers on IRC", func(l ngircdtest.Line) bool {
		return l.Command == "PRIVMSG" && strings.HasPrefix(l.Nick(), "opsbot") && strings.Contains(l.Last(), "pong")
	})

	// The web client: one session (stored in the database) used on every replica.
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	client := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	csrf := webLogin(t, client, urlOf(0), "alice", "correct-horse-battery")

	var (
		accepted sync.Map // N → true
		next     atomic.Int64
		sentN    atomic.Int64
		killed   = make(chan struct{})
		killOnce sync.Once
		wg       sync.WaitGroup
	)
	stored := func(n int64) bool {
		var c int
		require.NoError(t, db.QueryRow(`SELECT count(*) FROM web_messages WHERE NOT bot AND post LIKE $1`, `%"echo ha-`+strconv.FormatInt(n, 10)+`"%`).Scan(&c))
		return c > 0
	}
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				n := next.Add(1)
				if n > total {
					return
				}
				for try := 0; ; try++ {
					target := int(n+int64(w)+int64(try)) % replicas
					err := webSay(client, urlOf(target), csrf, "general", "echo ha-"+strconv.FormatInt(n, 10))
					if err == nil {
						break
					}
					// The replica is down: the message may have been stored
					// before it died; send it elsewhere only if it was not.
					if stored(n) {
						break
					}
					time.Sleep(50 * time.Millisecond)
				}
				accepted.Store(n, true)
				if sentN.Add(1) == killAt {
					killOnce.Do(func() { close(killed) })
				}
			}
		}()
	}

	<-killed
	victim := ircHolder()
	require.GreaterOrEqual(t, victim, 0)
	if b, err := pprofGoroutines(logs[victim].String()); err == nil {
		victimStacks = b
	}
	servers[victim].kill(t)
	killedAt := time.Now()
	t.Logf("killed replica %d (holding IRC) after %d accepted commands", victim, killAt)
	// An event routed to IRC while the connection is moving: delivered once, by the next holder.
	code := postEvent(urlOf((victim+1)%replicas), token, "ha.probe", "failover-probe-1")
	require.Equal(t, http.StatusAccepted, code)

	// The connection moves within the lease TTL + 5 s.
	require.Eventually(t, func() bool { h := ircHolder(); return h >= 0 && h != victim }, 3*time.Second+5*time.Second+2*time.Second, 50*time.Millisecond,
		"another replica takes the IRC connection")
	t.Logf("IRC lease taken over %s after the kill", time.Since(killedAt).Round(10*time.Millisecond))
	watcher.WaitFor(t, "the probe event on IRC after failover", func(l ngircdtest.Line) bool {
		return l.Command == "PRIVMSG" && strings.Contains(l.Last(), "failover-probe-1")
	})

	// The killed replica comes back.
	logs[victim].Write([]byte("--- restarted ---\n"))
	restarted := startServer(t, dirs[victim], logs[victim])
	srvMu.Lock()
	servers[victim] = restarted
	srvMu.Unlock()
	wg.Wait()

	// Every accepted command is answered exactly once.
	answer := regexp.MustCompile(`\bha-(\d+)\b`)
	var counts map[int64]int
	deadline := time.Now().Add(60 * time.Second)
	for {
		counts = map[int64]int{}
		rows, err := db.Query(`SELECT post FROM web_messages WHERE bot AND room = 'general'`)
		require.NoError(t, err)
		for rows.Next() {
			var raw string
			require.NoError(t, rows.Scan(&raw))
			var p struct {
				Text string `json:"text"`
			}
			require.NoError(t, json.Unmarshal([]byte(raw), &p))
			// A reply may name the number twice (the command and its output).
			seen := map[int64]bool{}
			for _, m := range answer.FindAllStringSubmatch(p.Text, -1) {
				n, _ := strconv.ParseInt(m[1], 10, 64)
				if !seen[n] {
					seen[n] = true
					counts[n]++
				}
			}
		}
		require.NoError(t, rows.Close())
		if len(counts) >= total || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	var missing, twice []int64
	for n := int64(1); n <= total; n++ {
		if _, ok := accepted.Load(n); !ok {
			t.Fatalf("command %d was never accepted", n)
		}
		switch c := counts[n]; {
		case c == 0:
			missing = append(missing, n)
		case c > 1:
			twice = append(twice, n)
		}
	}
	assert.Empty(t, missing, "commands never answered")
	for i, n := range missing {
		if i == 5 {
			break
		}
		var id int64
		var created int64
		err := db.QueryRow(`SELECT id, created FROM web_messages WHERE NOT bot AND post LIKE $1`, `%"echo ha-`+strconv.FormatInt(n, 10)+`"%`).Scan(&id, &created)
		t.Logf("missing ha-%d: message %d (err %v)", n, id, err)
		var holder string
		var claimed int64
		var done bool
		err = db.QueryRow(`SELECT holder, claimed, done FROM inbound_claims WHERE adapter = 'web' AND message_id = $1`, "web-"+strconv.FormatInt(id, 10)).Scan(&holder, &claimed, &done)
		t.Logf("  claim: holder %s claimed +%dms done %v (err %v)", holder, claimed-created, done, err)
		rows, err := db.Query(`SELECT id, post FROM web_messages WHERE bot AND id > $1 AND id < $1 + 40`, id)
		if err == nil {
			for rows.Next() {
				var bid int64
				var post string
				_ = rows.Scan(&bid, &post)
				if strings.Contains(post, "ha-"+strconv.FormatInt(n, 10)) || !answer.MatchString(post) {
					t.Logf("  bot message %d: %.200s", bid, post)
				}
			}
			rows.Close()
		}
	}
	assert.Empty(t, twice, "commands answered more than once")
	for i, n := range twice {
		if i == 3 {
			break
		}
		var id int64
		_ = db.QueryRow(`SELECT id FROM web_messages WHERE NOT bot AND post LIKE $1`, `%"echo ha-`+strconv.FormatInt(n, 10)+`"%`).Scan(&id)
		var holder string
		var claimed int64
		var done bool
		err := db.QueryRow(`SELECT holder, claimed, done FROM inbound_claims WHERE adapter = 'web' AND message_id = $1`, "web-"+strconv.FormatInt(id, 10)).Scan(&holder, &claimed, &done)
		t.Logf("twice ha-%d: message web-%d claim %s done %v (err %v)", n, id, holder, done, err)
		orows, err := db.Query(`SELECT id, state, attempts, claimed_by FROM outbox WHERE post LIKE $1`, `%ha-`+strconv.FormatInt(n, 10)+`%`)
		if err == nil {
			for orows.Next() {
				var oid int64
				var state, by string
				var attempts int
				_ = orows.Scan(&oid, &state, &attempts, &by)
				t.Logf("  outbox row %d: %s after %d attempts, claimed by %s", oid, state, attempts, by)
			}
			orows.Close()
		} else {
			t.Logf("  outbox: %v", err)
		}
		rows, err := db.Query(`SELECT id, created, post FROM web_messages WHERE bot AND post LIKE $1`, `%ha-`+strconv.FormatInt(n, 10)+`%`)
		if err == nil {
			for rows.Next() {
				var bid, created int64
				var post string
				_ = rows.Scan(&bid, &created, &post)
				t.Logf("  bot message %d at %d: %.200s", bid, created, post)
			}
			rows.Close()
		}
	}

	// The probe reached IRC once; the bot is in the channel once.
	probes := 0
	for _, l := range watcher.Lines() {
		if l.Command == "PRIVMSG" && strings.Contains(l.Last(), "failover-probe-1") {
			probes++
		}
	}
	assert.Equal(t, 1, probes, "the event routed to IRC is posted once")
	r = opsbot(t, dirs[0], "", "leases")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "adapter/irc")
	assert.Contains(t, r.stdout, "notify/pipeline")
	assert.Contains(t, r.stdout, "-"+strconv.Itoa(servers[ircHolder()].cmd.Process.Pid)+"-", "the holder is named")

	if t.Failed() {
		rows, err := db.Query(`SELECT id, adapter, room, state, attempts, errors, claimed_by, lease_until, next_attempt, error_text FROM outbox WHERE state <> 'sent' ORDER BY id`)
		if err == nil {
			for rows.Next() {
				var id, lease, next int64
				var adapter, room, state, by, errText string
				var attempts, errs int
				_ = rows.Scan(&id, &adapter, &room, &state, &attempts, &errs, &by, &lease, &next, &errText)
				t.Logf("unsent outbox row %d %s:%s %s attempts %d errors %d by %q lease in %dms next in %dms: %s", id, adapter, room, state, attempts, errs, by,
					lease-time.Now().UnixMilli(), next-time.Now().UnixMilli(), errText)
			}
			rows.Close()
		}
	}
	var stillQueued int
	require.NoError(t, db.QueryRow(`SELECT count(*) FROM outbox WHERE state <> 'sent'`).Scan(&stillQueued))
	assert.Zero(t, stillQueued, "nothing left in the outbox")
}

var profilerAddr = regexp.MustCompile(`msg="profiler listening" addr=(\S+)`)

// pprofGoroutines fetches every goroutine's stack from a replica's profiler
// (its address is in the log).
func pprofGoroutines(log string) (string, error) {
	m := profilerAddr.FindAllStringSubmatch(log, -1)
	if m == nil {
		return "", fmt.Errorf("no profiler address in the log")
	}
	c := &http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get("http://" + m[len(m)-1][1] + "/debug/pprof/goroutine?debug=2")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// webLogin logs in to the web console and returns the session's CSRF token.
func webLogin(t *testing.T, c *http.Client, base, user, password string) string {
	t.Helper()
	resp, err := c.Get(base + "/login")
	require.NoError(t, err)
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(page)
	require.NotNil(t, m, "login form")
	resp, err = c.PostForm(base+"/login", url.Values{"csrf": {string(m[1])}, "user": {user}, "password": {password}})
	require.NoError(t, err)
	resp.Body.Close()
	resp, err = c.Get(base + "/rooms/general")
	require.NoError(t, err)
	page, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "logged in")
	m = regexp.MustCompile(`<meta name="csrf-token" content="([^"]+)">`).FindSubmatch(page)
	require.NotNil(t, m, "session CSRF token")
	return string(m[1])
}

// webSay posts a message in a web chat room.
func webSay(c *http.Client, base, csrf, room, text string) error {
	req, err := http.NewRequest(http.MethodPost, base+"/rooms/"+room+"/messages", strings.NewReader(url.Values{"text": {text}}.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-CSRF-Token", csrf)
	req.Header.Set("Accept", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("say: %s: %s", resp.Status, b)
	}
	return nil
}

func tailLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// TestKubernetesExampleConfigIsValid: the opsbot.yaml in the Kubernetes
// example's ConfigMap loads.
func TestKubernetesExampleConfigIsValid(t *testing.T) {
	raw, err := os.ReadFile("../../examples/kubernetes/opsbot.yaml")
	require.NoError(t, err)
	var found string
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	for {
		var doc struct {
			Kind string            `yaml:"kind"`
			Data map[string]string `yaml:"data"`
		}
		if err := dec.Decode(&doc); err != nil {
			require.ErrorIs(t, err, io.EOF)
			break
		}
		if doc.Kind == "ConfigMap" {
			found = doc.Data["opsbot.yaml"]
		}
	}
	require.NotEmpty(t, found, "the ConfigMap holds opsbot.yaml")
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "opsbot.yaml"), found)
	r := opsbotEnv(t, dir, []string{"OPSBOT_DATABASE=postgres://opsbot:pw@db.invalid:5432/opsbot"}, "", "--config", "opsbot.yaml", "config", "check")
	require.Equal(t, 0, r.code, r.stderr)
}
