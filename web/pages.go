package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/opsbot/opsbot/chat"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// pages are the parsed templates: one set per page (layout + page + message).
type pages struct {
	sets map[string]*template.Template
	msg  *template.Template
}

var funcs = template.FuncMap{
	"markdown": markdownHTML,
	"safeURL": func(s string) string {
		u, ok := safeURL(s)
		if !ok {
			return ""
		}
		return u
	},
	"ts": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04:05")
	},
	"dur":  func(d time.Duration) string { return d.Round(time.Millisecond).String() },
	"join": strings.Join,
}

func newPages() (*pages, error) {
	p := &pages{sets: map[string]*template.Template{}}
	var err error
	p.msg, err = template.New("message.html").Funcs(funcs).ParseFS(templateFS, "templates/message.html")
	if err != nil {
		return nil, fmt.Errorf("parse templates: %w", err)
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		base := strings.TrimPrefix(n, "templates/")
		if base == "layout.html" || base == "message.html" {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/message.html", n)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", n, err)
		}
		p.sets[strings.TrimSuffix(base, ".html")] = t
	}
	return p, nil
}

// view is what every page template receives.
type view struct {
	Title   string
	Session *session
	Nav     string
	Data    any
	Error   string
	Flash   string
}

func (p *pages) render(w http.ResponseWriter, code int, name string, v view) {
	t, ok := p.sets[name]
	if !ok {
		http.Error(w, "no such page", http.StatusInternalServerError)
		return
	}
	var b bytes.Buffer
	if err := t.Execute(&b, v); err != nil {
		http.Error(w, "render failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write(b.Bytes())
}

// messageView is one message in the chat page's template.
type messageView struct {
	message
	Replies []messageView
}

// Sev is the severity's CSS class.
func (v messageView) Sev() string {
	switch v.Post.Severity {
	case chat.SeverityInfo, chat.SeveritySuccess, chat.SeverityWarning, chat.SeverityCritical:
		return "sev-" + string(v.Post.Severity)
	}
	return ""
}

// IDs are the message's and its thread's IDs as text.
func (v messageView) IDText() string { return itoa(v.ID) }

// Root is the thread a reply to this message goes to.
func (v messageView) Root() string {
	if v.Thread != 0 {
		return itoa(v.Thread)
	}
	return itoa(v.ID)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// messageHTML renders one message (without its replies) as an HTML fragment.
func (p *pages) messageHTML(msg message) string {
	var b bytes.Buffer
	if err := p.msg.ExecuteTemplate(&b, "message", messageView{message: msg}); err != nil {
		return template.HTMLEscapeString("render failed: " + err.Error())
	}
	return b.String()
}

// nest puts replies under their root when the root is on the page.
func nest(msgs []message) []messageView {
	var out []messageView
	at := map[int64]int{}
	for _, m := range msgs {
		if i, ok := at[m.Thread]; ok && m.Thread != 0 {
			out[i].Replies = append(out[i].Replies, messageView{message: m})
			continue
		}
		at[m.ID] = len(out)
		out = append(out, messageView{message: m})
	}
	return out
}
