package scripts

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/jobs"
)

// runJob is the job kind's Run: it runs the command for a job record, in
// the foreground (RunForeground) or the background (Enqueue).
func (m *Module) runJob(d *cmdDef) func(ctx context.Context, run *jobs.Run) error {
	return func(ctx context.Context, run *jobs.Run) error {
		cs, _ := ctx.Value(callStateKey{}).(*callState)
		if cs != nil {
			cs.release() // the job record exists: the concurrency check sees it
		}
		var pl payload
		if run.Job.Payload != "" {
			if err := json.Unmarshal([]byte(run.Job.Payload), &pl); err != nil {
				return fmt.Errorf("job %d: payload: %w", run.ID(), err)
			}
		}
		if pl.Origin.Adapter == "" {
			pl.Origin = run.Room()
		}
		inv, err := m.invocation(d, run.Job.Args, run.Job.UserName, pl.Origin, run.ID())
		if err != nil {
			return err
		}
		key := fmt.Sprintf("job #%d", run.ID())
		if run.Background {
			text := fmt.Sprintf("started job #%d: `%s`", run.ID(), run.Job.Command)
			if run.Resumed {
				text = fmt.Sprintf("resuming job #%d (`%s`) after a restart", run.ID(), run.Job.Command)
			}
			ref, err := run.Post(ctx, chat.Post{Text: text, ThreadKey: key})
			switch {
			case err != nil:
				run.Logger().Warn("job start not posted", "err", err)
			case run.Thread().IsZero():
				if err := run.SetThread(ctx, ref); err != nil {
					run.Logger().Warn("job thread not recorded", "err", err)
				}
			}
		}

		s := newStreamer(ctx, run, d, key)
		var o outcome
		var runErr error
		if inv.proc != nil {
			inv.proc.started = func(pgid int) { m.recordProc(ctx, run.ID(), pgid) }
			o, runErr = inv.proc.run(ctx, s.write)
			m.forgetProc(ctx, run.ID())
		} else {
			o, runErr = inv.req.send(ctx, s.write)
		}
		s.close()
		res := &result{o: o, runErr: runErr, tail: s.tail, http: inv.req != nil, shutdown: jobs.ShuttingDown(ctx)}
		run.SetExitCode(o.exitCode)
		if cs != nil {
			cs.result = res
		}
		if run.Background && !res.shutdown {
			post := res.post(run.ID(), fmt.Sprintf("job #%d (`%s`)", run.ID(), run.Job.Command), d, true)
			pctx := context.WithoutCancel(ctx)
			if d.Reply.Mode == "thread" || pl.InThread {
				_, err = run.Post(pctx, post)
			} else {
				_, err = run.PostRoom(pctx, post)
			}
			if err != nil {
				run.Logger().Warn("job result not posted", "err", err)
			}
		}
		return res.jobErr(ctx, d)
	}
}

// result is how a run went, with the tail of its output.
type result struct {
	o        outcome
	runErr   error // it could not run (or the request could not be sent)
	tail     *tail
	http     bool
	shutdown bool // stopped because opsbot is stopping
}

func (r *result) ok() bool {
	switch {
	case r.runErr != nil, r.o.timedOut, r.o.cancelled:
		return false
	case r.http:
		return r.o.exitCode >= 200 && r.o.exitCode < 300
	}
	return r.o.exitCode == 0 && r.o.signal == ""
}

// verdict says how the run ended: "finished in 12.3s (exit 0)".
func (r *result) verdict(d *cmdDef) string {
	status := "exit " + strconv.Itoa(r.o.exitCode)
	if r.http {
		status = "HTTP " + strconv.Itoa(r.o.exitCode)
	} else if r.o.signal != "" {
		status = "killed by " + r.o.signal
	}
	switch {
	case r.runErr != nil:
		return "could not run: " + r.runErr.Error()
	case r.o.timedOut:
		return fmt.Sprintf("timed out after %s, killed", jobs.FormatDuration(d.Timeout))
	case r.o.cancelled:
		return fmt.Sprintf("was cancelled after %s", jobs.FormatDuration(r.o.duration))
	case r.ok():
		return fmt.Sprintf("finished in %s (%s)", jobs.FormatDuration(r.o.duration), status)
	}
	return fmt.Sprintf("failed (%s) after %s", status, jobs.FormatDuration(r.o.duration))
}

// post is the result as a chat post: what ran, the verdict and the tail of
// the output.
func (r *result) post(jobID int64, what string, d *cmdDef, background bool) chat.Post {
	var b strings.Builder
	b.WriteString(what + " " + r.verdict(d))
	out := r.tail.buf
	if r.tail.truncated() {
		// Start at a line: a line cut in two could show half a secret.
		if i := bytes.IndexByte(out, '\n'); i >= 0 {
			out = out[i+1:]
		}
	}
	switch {
	case len(out) == 0 && r.tail.total == 0 && r.runErr == nil:
		b.WriteString("\n(no output)")
	case len(out) == 0:
	case d.Output.As == "text":
		b.WriteString("\n" + strings.TrimRight(string(out), "\n"))
	default:
		b.WriteString("\n" + codeBlock(out))
	}
	if r.tail.truncated() {
		fmt.Fprintf(&b, "\n(output truncated: the last %s of %s shown; full log: job #%d)", size(int64(len(out))), size(r.tail.total), jobID)
	}
	p := chat.Post{Text: b.String(), Severity: chat.SeveritySuccess}
	if !r.ok() {
		p.Severity = chat.SeverityCritical
		if r.o.cancelled {
			p.Severity = chat.SeverityWarning
		}
	}
	if background {
		p.ThreadKey = fmt.Sprintf("job #%d", jobID)
	}
	return p
}

// err is the handler's error for a foreground run: nil when it succeeded,
// else one the bot records without replying again.
func (r *result) err(d *cmdDef) error {
	if r.ok() {
		return nil
	}
	return reported{msg: r.verdict(d), timeout: r.o.timedOut}
}

// jobErr is what the job's Run returns, so the job record gets the right
// state: timeout, cancelled, failed or succeeded.
func (r *result) jobErr(ctx context.Context, d *cmdDef) error {
	switch {
	case r.o.timedOut:
		return fmt.Errorf("%w after %s, killed", jobs.ErrTimeout, jobs.FormatDuration(d.Timeout))
	case r.o.cancelled:
		if err := context.Cause(ctx); err != nil {
			return err
		}
		return context.Canceled
	case r.runErr != nil:
		return r.runErr
	case r.ok():
		return nil
	case r.http:
		return fmt.Errorf("HTTP %d", r.o.exitCode)
	case r.o.signal != "":
		return fmt.Errorf("killed by %s", r.o.signal)
	}
	return fmt.Errorf("exit status %d", r.o.exitCode)
}

// codeBlock fences text, defusing fences inside it.
func codeBlock(text []byte) string {
	s := strings.ReplaceAll(string(text), "```", "``\u200b`")
	if !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	return "```\n" + s + "```"
}

// size writes a byte count for people.
func size(n int64) string {
	switch {
	case n >= 1<<20:
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MiB"
	case n >= 1<<10:
		return strconv.FormatFloat(float64(n)/(1<<10), 'f', 1, 64) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

// Output streaming. The job's log gets every byte (whole lines at a time,
// so the redactor sees secrets whole); a background job also posts what is
// new in its thread every StreamInterval, a few thousand bytes at most.
const (
	streamMax    = 3000     // bytes of new output per streamed post
	logFlushSize = 64 << 10 // log at once when this much is waiting
)

type streamer struct {
	ctx      context.Context // outlives the run's: the last flush happens after it ends
	run      *jobs.Run
	stream   bool
	interval time.Duration
	key      string

	mu      sync.Mutex
	tail    *tail
	logBuf  []byte
	newBuf  []byte // output not posted yet
	skipped int64  // bytes dropped from newBuf since the last post

	logMu sync.Mutex // keeps log chunks in order
	done  chan struct{}
	wg    sync.WaitGroup
}

func newStreamer(ctx context.Context, run *jobs.Run, d *cmdDef, key string) *streamer {
	s := &streamer{
		ctx: context.WithoutCancel(ctx), run: run, stream: run.Background, interval: d.StreamInterval, key: key,
		tail: &tail{max: d.Output.MaxBytes}, done: make(chan struct{}),
	}
	s.wg.Add(1)
	go s.loop()
	return s
}

func (s *streamer) write(p []byte) {
	s.mu.Lock()
	_, _ = s.tail.Write(p)
	s.logBuf = append(s.logBuf, p...)
	if s.stream {
		s.newBuf = append(s.newBuf, p...)
		if over := len(s.newBuf) - streamMax; over > 0 {
			// Keep the newest lines, starting at a line.
			if i := bytes.IndexByte(s.newBuf[over:], '\n'); i >= 0 && over+i+1 < len(s.newBuf) {
				over += i + 1
			}
			s.skipped += int64(over)
			s.newBuf = append(s.newBuf[:0], s.newBuf[over:]...)
		}
	}
	flush := len(s.logBuf) >= logFlushSize
	s.mu.Unlock()
	if flush {
		s.flushLog(false)
	}
}

func (s *streamer) loop() {
	defer s.wg.Done()
	for {
		select {
		case <-s.done:
			return
		case <-s.run.Clock().After(s.interval):
			s.flushLog(false)
			if s.stream {
				s.flushPost()
			}
		}
	}
}

// close stops streaming and logs what is left.
func (s *streamer) close() {
	close(s.done)
	s.wg.Wait()
	s.flushLog(true)
}

// flushLog appends the complete lines waiting (everything when final, or
// when a line is too long to wait for its end) to the job's log.
func (s *streamer) flushLog(final bool) {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	s.mu.Lock()
	n := bytes.LastIndexByte(s.logBuf, '\n') + 1
	if final || len(s.logBuf) >= logFlushSize {
		n = len(s.logBuf)
	}
	chunk := append([]byte(nil), s.logBuf[:n]...)
	s.logBuf = append(s.logBuf[:0], s.logBuf[n:]...)
	s.mu.Unlock()
	if err := s.run.Log(s.ctx, chunk); err != nil {
		s.run.Logger().Warn("job log not written", "err", err)
	}
}

// flushPost posts the complete lines of new output in the job's thread.
func (s *streamer) flushPost() {
	s.mu.Lock()
	n := bytes.LastIndexByte(s.newBuf, '\n') + 1
	chunk := append([]byte(nil), s.newBuf[:n]...)
	s.newBuf = append(s.newBuf[:0], s.newBuf[n:]...)
	skipped := s.skipped
	if n > 0 {
		s.skipped = 0
	}
	s.mu.Unlock()
	if n == 0 {
		return
	}
	text := codeBlock(chunk)
	if skipped > 0 {
		text = fmt.Sprintf("… %s not shown (full log: %s)\n%s", size(skipped), s.key, text)
	}
	if _, err := s.run.Post(s.ctx, chat.Post{Text: text, ThreadKey: s.key}); err != nil {
		s.run.Logger().Warn("job output not posted", "err", err)
	}
}
