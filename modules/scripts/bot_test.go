package scripts_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/bottest"
	"github.com/opsbot/opsbot/command"
	"github.com/opsbot/opsbot/jobs"
	"github.com/opsbot/opsbot/modules/jobsmod"
	"github.com/opsbot/opsbot/modules/scripts"
	"github.com/opsbot/opsbot/store"
	"github.com/opsbot/opsbot/store/pgtest"
)

// testdata is the absolute path of a file in testdata.
func testdata(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("testdata", name))
	require.NoError(t, err)
	return p
}

// newBot starts a bot with the scripts and jobs modules and yaml (in which
// TESTDATA stands for the testdata directory's path). With pg it runs on a
// fresh PostgreSQL database.
func newBot(t *testing.T, yaml string, pg bool) *bottest.Bot {
	t.Helper()
	yaml = strings.ReplaceAll(yaml, "TESTDATA", testdata(t, ""))
	opts := []bottest.Option{bottest.Config(yaml), bottest.Modules(scripts.New(), jobsmod.New())}
	if pg {
		opts = append(opts, bottest.Database(pgtest.Start(t)))
	}
	return bottest.New(t, opts...)
}

// argvOf reads the arguments testdata/argv.sh printed in a reply.
func argvOf(reply string) []string {
	_, body, ok := strings.Cut(reply, "```\n")
	if !ok {
		return nil
	}
	body, _, _ = strings.Cut(body, "```")
	var out []string
	for _, p := range strings.Split(body, "---ARG---\n")[1:] {
		out = append(out, strings.TrimSuffix(p, "\n"))
	}
	return out
}

var dbs = []struct {
	name string
	pg   bool
}{{"sqlite", false}, {"postgres", true}}

func TestForeground(t *testing.T) {
	for _, db := range dbs {
		t.Run(db.name, func(t *testing.T) {
			t.Parallel()
			b := newBot(t, `
commands:
  - name: hello
    grammar: hello {name} [{rest...}]
    help: print the arguments
    argv: [TESTDATA/argv.sh, "{name}", "--greeting=hello {name}", "{rest}", "{user}", "{room}"]
`, db.pg)
			b.User("alice")
			b.User("bob")
			b.Grant("hello", "user:alice")

			reply := b.Say("alice", "ops", "hello world")
			require.Contains(t, reply, "`hello world` finished in ")
			require.Contains(t, reply, "(exit 0)")
			require.Equal(t, []string{"world", "--greeting=hello world", "alice", "#ops"}, argvOf(reply))

			// The run is a job record, with the output in its log.
			js, err := b.Store.ListJobs(b.Ctx, store.JobFilter{})
			require.NoError(t, err)
			require.Len(t, js, 1)
			require.Equal(t, "scripts.hello", js[0].Kind)
			require.Equal(t, jobs.StateSucceeded, js[0].State)
			require.Equal(t, "alice", js[0].UserName)
			log, err := b.Store.JobLog(b.Ctx, js[0].ID)
			require.NoError(t, err)
			require.Equal(t, "---ARG---\nworld\n---ARG---\n--greeting=hello world\n---ARG---\nalice\n---ARG---\n#ops\n", string(log))

			// Without the permission: refused, nothing runs.
			reply = b.Say("bob", "ops", "hello world")
			require.Contains(t, reply, "needs the permission `hello`")
			js, err = b.Store.ListJobs(b.Ctx, store.JobFilter{})
			require.NoError(t, err)
			require.Len(t, js, 1)
		})
	}
}

// TestInjection sends shell metacharacters through chat: each argument
// arrives whole and verbatim as one argv element, and nothing is executed.
func TestInjection(t *testing.T) {
	b := newBot(t, `
commands:
  - name: echo-args
    grammar: echo-args {a} {rest...}
    argv: [TESTDATA/argv.sh, "{a}", "--flag={a}", "{rest}"]
    side_effects: false
    permission: none
`, false)
	dir := t.TempDir()
	pwned := filepath.Join(dir, "pwned")
	for _, tc := range []struct{ a, rest string }{
		{`"; rm -rf /"`, "$(touch " + pwned + ")"},
		{"\"`touch " + pwned + "`\"", "'single' \"double\" `back` ; touch " + pwned},
		{"--flag=x", "--help -rf / && touch " + pwned + " || touch " + pwned},
		{"$HOME", "first line\nsecond line; touch " + pwned},
		{`"a | b > ` + pwned + `"`, "${PATH} * ? ~ \\ {user}"},
	} {
		t.Run(tc.a, func(t *testing.T) {
			text := "echo-args " + tc.a + " " + tc.rest
			ex := b.Bot.Explain(b.Ctx, command.Principal{Name: "alice"}, b.Message("alice", "ops", "").Room, text)
			require.True(t, ex.Result.Matched(), "explain: %+v", ex.Result)
			args := ex.Result.Args
			reply := b.Say("alice", "ops", text)
			require.Contains(t, reply, "finished in")
			require.Equal(t, []string{args["a"], "--flag=" + args["a"], args["rest"]}, argvOf(reply))
			require.Equal(t, tc.rest, args["rest"], "the rest of the line is passed on as it was typed")
			require.NoFileExists(t, pwned)
		})
	}
}

// pollUntil advances the bot's clock by step until cond holds.
func pollUntil(t *testing.T, b *bottest.Bot, step time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; posts:\n%s", what, bottest.Texts(b.Chat.All()))
		}
		b.Clock.Advance(step)
		time.Sleep(10 * time.Millisecond)
	}
}

func posted(b *bottest.Bot, substr string) (bottest.Posted, bool) {
	for _, p := range b.Chat.All() {
		if strings.Contains(p.Post.Text, substr) {
			return p, true
		}
	}
	return bottest.Posted{}, false
}

var jobIDRE = regexp.MustCompile(`job #(\d+)`)

func jobID(t *testing.T, text string) int64 {
	t.Helper()
	m := jobIDRE.FindStringSubmatch(text)
	require.NotNil(t, m, "no job ID in %q", text)
	id, err := strconv.ParseInt(m[1], 10, 64)
	require.NoError(t, err)
	return id
}

// TestBackground: a background command posts "started" at once, streams its
// output into the thread at the stream interval, and posts "finished" with
// the duration and the tail of the output.
func TestBackground(t *testing.T) {
	for _, db := range dbs {
		t.Run(db.name, func(t *testing.T) {
			t.Parallel()
			fifo := filepath.Join(t.TempDir(), "fifo")
			require.NoError(t, syscall.Mkfifo(fifo, 0o600))
			b := newBot(t, `
commands:
  - name: sync-data
    grammar: sync data
    argv: [TESTDATA/ticks.sh, "`+fifo+`"]
    background: true
    stream_interval: 2s
`, db.pg)
			b.User("alice")
			b.Grant("sync-data", "user:alice")

			// The handler says nothing itself: the job posts "started" as it starts.
			for _, p := range b.Send(b.Message("alice", "ops", "sync data")) {
				require.Contains(t, p.Post.Text, "started job #1")
			}
			started := b.WaitFor("ops", "started job #")
			require.Equal(t, "started job #1: `sync data`", started.Post.Text)
			require.Empty(t, started.Thread)
			pollUntil(t, b, 0, "the job's thread to be recorded", func() bool {
				got, err := b.Store.Job(b.Ctx, 1)
				require.NoError(t, err)
				return strings.Contains(got.ThreadRef, `"id":"`+started.Ref.ID+`"`)
			})

			for i := 1; i <= 2; i++ {
				require.NoError(t, os.WriteFile(fifo, []byte(strconv.Itoa(i)+"\n"), 0o600))
				pollUntil(t, b, 2*time.Second, fmt.Sprintf("tick %d streamed", i), func() bool {
					p, ok := posted(b, fmt.Sprintf("tick %d\n", i))
					return ok && p.Thread == started.Ref.ID
				})
			}
			require.NoError(t, os.WriteFile(fifo, []byte("end\n"), 0o600))
			done := b.WaitFor("ops", "finished in")
			require.Empty(t, done.Thread, "the result goes to the room")
			require.Regexp(t, "^job #1 \\(`sync data`\\) finished in [0-9.]+s \\(exit 0\\)\n```\ntick 1\ntick 2\ndone\n```$", done.Post.Text)

			got := waitJob(t, b, 1, jobs.StateSucceeded)
			require.Equal(t, 0, got.ExitCode)
			log, err := b.Store.JobLog(b.Ctx, 1)
			require.NoError(t, err)
			require.Equal(t, "tick 1\ntick 2\ndone\n", string(log))

			list := b.Say("alice", "ops", "jobs")
			require.Contains(t, list, "No job is running.")
			require.Contains(t, list, "#1 succeeded in")
			require.Contains(t, list, "— `sync data` (alice)")
			show := b.Say("alice", "ops", "job 1")
			require.Contains(t, show, "job #1 `sync data`: succeeded in")
			require.Contains(t, show, "tick 2\ndone")
		})
	}
}

func waitJob(t *testing.T, b *bottest.Bot, id int64, state string) store.Job {
	t.Helper()
	var j store.Job
	deadline := time.Now().Add(20 * time.Second)
	for {
		var err error
		j, err = b.Store.Job(b.Ctx, id)
		require.NoError(t, err)
		if j.State == state {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %d is %s, not %s", id, j.State, state)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestTimeout: a command over its timeout is killed with its children and
// reported as timed out.
func TestTimeout(t *testing.T) {
	pids := filepath.Join(t.TempDir(), "pids")
	b := newBot(t, `
commands:
  - name: stuck
    grammar: stuck
    argv: [TESTDATA/spawn.sh, "`+pids+`"]
    background: true
    timeout: 1m
    kill_grace: 1s
`, false)
	b.User("alice")
	b.Grant("stuck", "user:alice")
	b.Say("alice", "ops", "stuck")
	b.WaitFor("ops", "started job #1")
	var ps []int
	deadline := time.Now().Add(10 * time.Second)
	for len(ps) < 2 {
		data, _ := os.ReadFile(pids)
		ps = nil
		for _, f := range strings.Fields(string(data)) {
			n, err := strconv.Atoi(f)
			require.NoError(t, err)
			ps = append(ps, n)
		}
		require.True(t, time.Now().Before(deadline), "the script did not start")
		time.Sleep(10 * time.Millisecond)
	}
	pollUntil(t, b, time.Minute, "the timeout", func() bool {
		_, ok := posted(b, "timed out")
		return ok
	})
	p := b.WaitFor("ops", "timed out")
	require.Contains(t, p.Post.Text, "job #1 (`stuck`) timed out after 1m, killed")
	require.Contains(t, p.Post.Text, "started")
	j := waitJob(t, b, 1, jobs.StateTimeout)
	require.Equal(t, "timed out after 1m, killed", j.Error)
	for _, pid := range ps {
		deadline := time.Now().Add(10 * time.Second)
		for syscall.Kill(pid, 0) == nil && !zombie(pid) {
			require.True(t, time.Now().Before(deadline), "process %d survived the timeout", pid)
			time.Sleep(10 * time.Millisecond)
		}
	}
}

func zombie(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	i := strings.LastIndexByte(string(stat), ')')
	return i > 0 && i+2 < len(stat) && stat[i+2] == 'Z'
}

// TestConcurrencyAndCancel: a second run while one is running is refused;
// the starter may cancel their job, another user needs jobs:cancel.
func TestConcurrencyAndCancel(t *testing.T) {
	pids := filepath.Join(t.TempDir(), "pids")
	b := newBot(t, `
commands:
  - name: long
    grammar: long
    argv: [TESTDATA/spawn.sh, "`+pids+`"]
    background: true
  - name: quick
    grammar: quick
    argv: [TESTDATA/spawn.sh, "`+pids+`.quick"]
    concurrency: 1
`, false)
	b.User("alice")
	b.User("bob")
	b.User("root", "admins")
	b.Grant("long", "group:everyone")

	b.Say("alice", "ops", "long")
	b.WaitFor("ops", "started job #1")
	require.Contains(t, b.Say("bob", "ops", "long"), "`long` is already running (job #1); try again when it has finished.")

	require.Contains(t, b.Say("bob", "ops", "cancel job 1"), "Sorry bob, job #1 was started by alice: cancelling someone else's job needs the permission `jobs:cancel`.")
	require.Equal(t, jobs.StateRunning, waitJob(t, b, 1, jobs.StateRunning).State)
	require.Contains(t, b.Say("alice", "ops", "jobs"), "#1 running for")

	require.Contains(t, b.Say("alice", "ops", "cancel job 1"), "Cancelling job #1 (`long`).")
	p := b.WaitFor("ops", "was cancelled after")
	require.Contains(t, p.Post.Text, "job #1 (`long`) was cancelled after")
	waitJob(t, b, 1, jobs.StateCancelled)
	require.Contains(t, b.Say("alice", "ops", "cancel job 1"), "job #1 (`long`) has already ended: cancelled")
	require.Contains(t, b.Say("alice", "ops", "cancel job 99"), "There is no job #99.")

	// Now bob may start one; root (an admin) cancels it, and jobs:cancel
	// lets carol cancel another's.
	b.Say("bob", "ops", "long")
	b.WaitFor("ops", "started job #2")
	require.Contains(t, b.Say("root", "ops", "cancel job 2"), "Cancelling job #2")
	waitJob(t, b, 2, jobs.StateCancelled)
	b.User("carol")
	b.Grant("jobs:cancel", "user:carol")
	b.Say("bob", "ops", "long")
	b.WaitFor("ops", "started job #3")
	require.Contains(t, b.Say("carol", "ops", "cancel job 3"), "Cancelling job #3")
	waitJob(t, b, 3, jobs.StateCancelled)
}

// TestOutputAndSecrets: long output is truncated in the reply with a note,
// and kept whole in the job's log; secrets are masked in both.
func TestOutputAndSecrets(t *testing.T) {
	t.Setenv("TOY_DB_TOKEN", "toy-db-s3cret")
	b := newBot(t, `
commands:
  - name: many
    grammar: many lines {n:int}
    argv: [TESTDATA/lines.sh, "{n}"]
    output: {max_bytes: 200}
  - name: show-env
    grammar: show env
    argv: [TESTDATA/env.sh]
    env: {TOY_DB_TOKEN: "${TOY_DB_TOKEN}"}
    output: {as: text}
`, false)
	b.User("alice", "admins")
	reply := b.Say("alice", "ops", "many lines 2000")
	require.Contains(t, reply, "line 2000\n```")
	require.NotContains(t, reply, "line 1\n")
	id := jobID(t, reply)
	require.Contains(t, reply, fmt.Sprintf("(output truncated: the last 190 bytes of 18.5 KiB shown; full log: job #%d)", id))
	log, err := b.Store.JobLog(b.Ctx, id)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(log), "line 1\nline 2\n"))
	require.Equal(t, 2000, strings.Count(string(log), "\n"))

	reply = b.Say("alice", "ops", "show env")
	require.Contains(t, reply, "TOY_DB_TOKEN=[redacted]")
	require.NotContains(t, reply, "toy-db-s3cret")
	js, err := b.Store.ListJobs(b.Ctx, store.JobFilter{Limit: 1})
	require.NoError(t, err)
	log, err = b.Store.JobLog(b.Ctx, js[0].ID)
	require.NoError(t, err)
	require.Contains(t, string(log), "TOY_DB_TOKEN=[redacted]")
	require.NotContains(t, string(log), "toy-db-s3cret")
	require.NotContains(t, b.Logs(), "toy-db-s3cret")
}

// TestReplyElsewhere: results go to another room (a job's notification
// channel); the room of the request gets a pointer.
func TestReplyElsewhere(t *testing.T) {
	b := newBot(t, `
commands:
  - name: report
    grammar: report {what}
    argv: [TESTDATA/argv.sh, "{what}"]
    reply: {room: data}
  - name: data-sync
    grammar: data sync
    argv: [TESTDATA/exit.sh, "2"]
    background: true
    reply: {room: data}
`, false)
	b.User("alice", "admins")
	ps := b.Send(b.Message("alice", "ops", "report usage"))
	require.Len(t, ps, 2)
	require.Equal(t, "data", ps[0].Room)
	require.Contains(t, ps[0].Post.Text, "`report usage` finished in")
	require.Equal(t, "ops", ps[1].Room)
	require.Regexp(t, "^`report usage` finished in .* \\(exit 0\\); the output is in data\\.$", ps[1].Post.Text)

	var inOps []string
	for _, p := range b.Send(b.Message("alice", "ops", "data sync")) {
		if p.Room == "ops" {
			inOps = append(inOps, p.Post.Text)
		}
	}
	require.Equal(t, []string{"started job #2: `data sync`; its output goes to data."}, inOps)
	started := b.WaitFor("data", "started job #2")
	require.Equal(t, "data", started.Room)
	failed := b.WaitFor("data", "failed (exit 2)")
	require.Contains(t, failed.Post.Text, "job #2 (`data sync`) failed (exit 2) after")
	require.Contains(t, failed.Post.Text, "err: exiting 2")
	j := waitJob(t, b, 2, jobs.StateFailed)
	require.Equal(t, 2, j.ExitCode)
	require.Equal(t, "exit status 2", j.Error)
}

// TestConfirmation: confirm: {when: …} asks before running for the listed values only.
func TestConfirmation(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "ran")
	b := newBot(t, `
commands:
  - name: deploy
    grammar: deploy {app} to {env}
    argv: [touch, "`+marker+`.{app}.{env}"]
    confirm: {when: {env: [production]}}
`, false)
	b.User("alice", "admins")
	require.Contains(t, b.Say("alice", "ops", "deploy api to staging"), "finished in")
	require.FileExists(t, marker+".api.staging")

	reply := b.Say("alice", "ops", "deploy api to production")
	require.Contains(t, reply, "needs confirmation")
	require.NoFileExists(t, marker+".api.production")
	code := regexp.MustCompile("yes (\\d+)").FindStringSubmatch(reply)
	require.NotNil(t, code, reply)
	require.Contains(t, b.Say("alice", "ops", "yes "+code[1]), "finished in")
	require.FileExists(t, marker+".api.production")
}

// TestResume: a resumable background job stopped by a restart runs again
// when opsbot is back, on the same database.
func TestResume(t *testing.T) {
	for _, db := range dbs {
		t.Run(db.name, func(t *testing.T) {
			t.Parallel()
			fifo := filepath.Join(t.TempDir(), "fifo")
			require.NoError(t, syscall.Mkfifo(fifo, 0o600))
			url := "sqlite:" + filepath.Join(t.TempDir(), "opsbot.db")
			if db.pg {
				url = pgtest.Start(t)
			}
			yaml := strings.ReplaceAll(`
commands:
  - name: sync-data
    grammar: sync data
    argv: [TESTDATA/ticks.sh, "`+fifo+`"]
    background: true
    resumable: true
`, "TESTDATA", testdata(t, ""))
			opts := []bottest.Option{bottest.Config(yaml), bottest.Modules(scripts.New(), jobsmod.New()), bottest.Database(url)}
			first := bottest.New(t, opts...)
			first.User("alice", "admins")
			first.Say("alice", "ops", "sync data")
			first.WaitFor("ops", "started job #1")
			require.NoError(t, first.App.Stop(t.Context()))
			first.WaitFor("ops", "job #1 (`sync data`) was stopped by a restart; it will resume when opsbot is back.")
			j, err := first.Store.Job(t.Context(), 1)
			require.NoError(t, err)
			require.Equal(t, jobs.StateRunning, j.State)

			second := bottest.New(t, opts...)
			resumed := second.WaitFor("ops", "resuming job #1")
			require.Equal(t, "resuming job #1 (`sync data`) after a restart", resumed.Post.Text)
			require.NotEmpty(t, resumed.Thread, "it reports in the job's thread")
			require.NoError(t, os.WriteFile(fifo, []byte("end\n"), 0o600))
			second.WaitFor("ops", "job #1 (`sync data`) finished in")
			waitJob(t, second, 1, jobs.StateSucceeded)
		})
	}
}
