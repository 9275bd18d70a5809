package fleet

import (
	"fmt"
	"strings"
	"time"

	"github.com/opsbot/opsbot/chat"
	fl "github.com/opsbot/opsbot/fleet"
)

// renderPlatform is the one-post platform report.
func renderPlatform(r fl.Report) chat.Post {
	var b strings.Builder
	title := "Platform"
	if r.Env != "" {
		title += " " + r.Env
	}
	n := r.Counts()
	fmt.Fprintf(&b, "*%s*: %d instances — %s (checked in %s)", title, len(r.Rows), countText(n), round(r.Took))
	sev := chat.SeveritySuccess
	envs := map[string]bool{}
	for _, row := range r.Rows {
		envs[strings.ToLower(row.Instance.Env)] = true
	}
	env := "\x00"
	for _, row := range r.Rows {
		if e := strings.ToLower(row.Instance.Env); len(envs) > 1 && e != env {
			env = e
			name := e
			if name == "" {
				name = "(no environment)"
			}
			fmt.Fprintf(&b, "\n*%s*", name)
		}
		b.WriteString("\n- " + rowText(row))
		switch {
		case row.Status.State == fl.Down && row.Active:
			sev = chat.SeverityCritical
		case row.Status.State == fl.Down || row.Status.State == fl.Degraded || row.ActiveErr != "":
			if sev != chat.SeverityCritical {
				sev = chat.SeverityWarning
			}
		}
	}
	return chat.Post{Text: b.String(), Severity: sev}
}

func countText(n map[fl.State]int) string {
	var parts []string
	for _, s := range []fl.State{fl.Up, fl.Degraded, fl.Down, fl.Unknown} {
		if n[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n[s], s))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func rowText(row fl.Row) string {
	in, st := row.Instance, row.Status
	var b strings.Builder
	if in.Icon != "" {
		b.WriteString(in.Icon + " ")
	}
	b.WriteString("*" + in.Name + "*")
	var what []string
	if in.App != "" && !strings.Contains(in.Name, in.App) {
		what = append(what, in.App)
	}
	if in.Role != "" && !strings.Contains(in.Name, in.Role) {
		what = append(what, in.Role)
	}
	if len(what) > 0 {
		b.WriteString(" (" + strings.Join(what, " ") + ")")
	}
	switch {
	case row.Active:
		b.WriteString(" ACTIVE")
	case row.ActiveErr != "":
		b.WriteString(" (active?)")
	}
	b.WriteString(": " + string(st.State))
	if st.Detail != "" {
		b.WriteString(" — " + st.Detail)
	}
	if st.Version != "" {
		b.WriteString(" · " + st.Version)
	}
	if st.Latency > 0 && st.State != fl.Down {
		b.WriteString(" · " + round(st.Latency))
	}
	return b.String()
}

// renderHealth is an instance's health answer, summarised.
func renderHealth(in fl.Instance, st fl.Status, active bool, activeErr error) chat.Post {
	var b strings.Builder
	fmt.Fprintf(&b, "*%s* is %s", in.Name, st.State)
	if st.Detail != "" {
		b.WriteString(" — " + st.Detail)
	}
	var facts []string
	if st.Code != 0 {
		facts = append(facts, fmt.Sprintf("HTTP %d in %s", st.Code, round(st.Latency)))
	}
	if st.Version != "" {
		facts = append(facts, "version "+st.Version)
	}
	switch {
	case activeErr != nil:
		facts = append(facts, "active: unknown ("+activeErr.Error()+")")
	case active:
		facts = append(facts, "ACTIVE")
	case in.Role != "":
		facts = append(facts, "inactive")
	}
	if len(facts) > 0 {
		b.WriteString("\n" + strings.Join(facts, " · "))
	}
	if len(st.Body) > 0 {
		h := fl.Summarise(st.Body)
		if h.Status != "" && h.Text == "" {
			b.WriteString("\nstatus: " + h.Status)
		}
		for _, c := range h.Checks {
			line := "\n- " + c.Name + ": " + c.Status
			if c.Detail != "" {
				line += " (" + c.Detail + ")"
			}
			b.WriteString(line)
		}
		if h.Text != "" {
			b.WriteString("\n```\n" + h.Text + "\n```")
		}
	}
	sev := chat.SeveritySuccess
	switch st.State {
	case fl.Down:
		sev = chat.SeverityCritical
	case fl.Degraded, fl.Unknown:
		sev = chat.SeverityWarning
	}
	return chat.Post{Text: b.String(), Severity: sev}
}

// renderTasks lists what runs on an instance.
func renderTasks(in fl.Instance, tasks []fl.Task, text string) chat.Post {
	if text != "" {
		return chat.Post{Text: fmt.Sprintf("*Tasks on %s*:\n```\n%s\n```", in.Name, cut(text, 3000))}
	}
	if len(tasks) == 0 {
		return chat.Post{Text: fmt.Sprintf("Nothing is running on *%s*.", in.Name)}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "*Tasks on %s* (%d):", in.Name, len(tasks))
	for i, t := range tasks {
		if i == 50 {
			fmt.Fprintf(&b, "\n… and %d more", len(tasks)-i)
			break
		}
		parts := []string{t.Name}
		if t.State != "" {
			parts = append(parts, t.State)
		}
		if t.Started != "" {
			parts = append(parts, "since "+t.Started)
		}
		if t.Detail != "" {
			parts = append(parts, t.Detail)
		}
		b.WriteString("\n- " + strings.Join(parts, " · "))
	}
	return chat.Post{Text: b.String()}
}

// renderSwitch reports a switch that ran (successfully or not).
func renderSwitch(sw fl.Switched, err error) chat.Post {
	var b strings.Builder
	sev := chat.SeveritySuccess
	if err != nil {
		sev = chat.SeverityCritical
		b.WriteString(err.Error())
		if sw.From != "" && !strings.Contains(err.Error(), "was switched") {
			fmt.Fprintf(&b, "\nThe traffic should still be on %s; check with `platform`.", sw.From)
		}
	} else {
		from := sw.From
		if from == "" {
			from = "(none recorded)"
		}
		fmt.Fprintf(&b, "Switched *%s* from %s to %s in %s", sw.App, from, sw.To, round(sw.Took))
		if sw.Kept {
			b.WriteString(" (recorded by opsbot: the app has no switch action)")
		}
		b.WriteString(".")
		var ups []string
		for _, s := range sw.After {
			ups = append(ups, fmt.Sprintf("%s %s", s.Instance, s.State))
		}
		if len(ups) > 0 {
			b.WriteString(" Verified: " + strings.Join(ups, ", ") + ".")
		}
		if sw.From != "" {
			fmt.Fprintf(&b, " `switch back %s` returns to %s.", sw.App, sw.From)
		}
	}
	if sw.Action.Output != "" {
		b.WriteString("\n```\n" + cut(sw.Action.Output, 2000) + "\n```")
	}
	return chat.Post{Text: b.String(), Severity: sev}
}

func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// round is a duration for people: "<1ms", "12ms", "1.3s", "14s".
func round(d time.Duration) string {
	if d < time.Millisecond {
		return "<1ms"
	}
	return roundDuration(d).String()
}

func roundDuration(d time.Duration) time.Duration {
	switch {
	case d >= 10*time.Second:
		return d.Round(time.Second)
	case d >= time.Second:
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Millisecond)
}
