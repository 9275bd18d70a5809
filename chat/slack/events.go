package slack

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"

	"github.com/slack-go/slack"
)

// The Events API routes (mode: events), on opsbot's listener.
const (
	EventsPath      = "/hooks/slack/events"
	InteractivePath = "/hooks/slack/interactive"
	CommandsPath    = "/hooks/slack/commands"
)

// maxBody bounds a request from Slack (its payloads are a few KB).
const maxBody = 1 << 20

// Routes are the HTTP routes the adapter serves in events mode, as
// net/http patterns, with their handlers; none in socket mode.
func (a *Adapter) Routes() map[string]http.Handler {
	if a.cfg.Mode != ModeEvents {
		return nil
	}
	return map[string]http.Handler{
		"POST " + EventsPath:      a.signed(a.serveEvents),
		"POST " + InteractivePath: a.signed(a.serveInteractive),
		"POST " + CommandsPath:    a.signed(a.serveCommand),
	}
}

// Handler serves the three routes (for tests and other muxes).
func (a *Adapter) Handler() http.Handler {
	mux := http.NewServeMux()
	for p, h := range a.Routes() {
		mux.Handle(p, h)
	}
	return mux
}

// signed reads the body and lets next see it only if Slack signed it, with
// a fresh timestamp, and the same signature was not seen before (a replay;
// an event Slack retries is let through, as its event ID is checked later).
// Refusals are 401 with the reason; nothing else is said.
func (a *Adapter) signed(next func(w http.ResponseWriter, r *http.Request, body []byte)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
				return
			}
			http.Error(w, "cannot read the request body", http.StatusBadRequest)
			return
		}
		if err := verify([]byte(a.cfg.SigningSecret.Reveal()), r.Header, body, a.clock.Now()); err != nil {
			a.log.Warn("slack: request refused", "path", r.URL.Path, "reason", err.Error(), "remote", r.RemoteAddr)
			http.Error(w, "slack signature: "+err.Error(), http.StatusUnauthorized)
			return
		}
		first, err := a.seen.first(r.Context(), "sig:"+r.Header.Get("X-Slack-Signature"), 2*signatureWindow)
		if err != nil {
			a.log.Error("slack: cannot check for a replay", "err", err)
			http.Error(w, "cannot check the request now", http.StatusServiceUnavailable)
			return
		}
		// Slack's own retry of an event may come with the same timestamp,
		// hence signature: it passes, and the event's ID makes it run once.
		if !first && r.Header.Get("X-Slack-Retry-Num") == "" {
			a.log.Warn("slack: replayed request refused", "path", r.URL.Path, "remote", r.RemoteAddr)
			http.Error(w, "slack signature: this request was already received (replay)", http.StatusUnauthorized)
			return
		}
		next(w, r, body)
	})
}

// serveEvents answers the URL verification challenge, and queues event
// callbacks (answering 200 at once: Slack retries what takes over 3 s).
func (a *Adapter) serveEvents(w http.ResponseWriter, r *http.Request, body []byte) {
	var head struct {
		Type      string `json:"type"`
		Challenge string `json:"challenge"`
	}
	if err := json.Unmarshal(body, &head); err != nil {
		http.Error(w, "body: not JSON", http.StatusBadRequest)
		return
	}
	switch head.Type {
	case "url_verification":
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"challenge": head.Challenge})
	case "event_callback":
		retry := 0
		if n := r.Header.Get("X-Slack-Retry-Num"); n != "" {
			retry = atoiOr(n, 1)
			a.log.Info("slack: event retried by Slack", "retry", n, "reason", r.Header.Get("X-Slack-Retry-Reason"))
		}
		a.queue.push(envelope{Type: typeEvents, Payload: body, Retry: retry})
		w.WriteHeader(http.StatusOK)
	case "":
		http.Error(w, "type: missing", http.StatusBadRequest)
	default:
		a.log.Debug("slack: callback type not handled", "type", head.Type)
		w.WriteHeader(http.StatusOK)
	}
}

// serveInteractive queues a click (form field payload, JSON).
func (a *Adapter) serveInteractive(w http.ResponseWriter, _ *http.Request, body []byte) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		http.Error(w, "body: not a form", http.StatusBadRequest)
		return
	}
	payload := form.Get("payload")
	if payload == "" || !json.Valid([]byte(payload)) {
		http.Error(w, "payload: missing or not JSON", http.StatusBadRequest)
		return
	}
	a.queue.push(envelope{Type: typeInteract, Payload: json.RawMessage(payload)})
	w.WriteHeader(http.StatusOK)
}

// serveCommand queues a slash command (a form) and answers it at once, so
// that the command shows in the channel; its results follow as posts.
func (a *Adapter) serveCommand(w http.ResponseWriter, _ *http.Request, body []byte) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		http.Error(w, "body: not a form", http.StatusBadRequest)
		return
	}
	sc := slack.SlashCommand{
		Token: form.Get("token"), TeamID: form.Get("team_id"), TeamDomain: form.Get("team_domain"),
		ChannelID: form.Get("channel_id"), ChannelName: form.Get("channel_name"), UserID: form.Get("user_id"),
		UserName: form.Get("user_name"), Command: form.Get("command"), Text: form.Get("text"),
		ResponseURL: form.Get("response_url"), TriggerID: form.Get("trigger_id"), APIAppID: form.Get("api_app_id"),
	}
	for _, f := range []struct{ name, v string }{{"command", sc.Command}, {"channel_id", sc.ChannelID}, {"user_id", sc.UserID}, {"trigger_id", sc.TriggerID}} {
		if f.v == "" {
			http.Error(w, f.name+": missing", http.StatusBadRequest)
			return
		}
	}
	if _, ok := a.cfg.slashText(sc.Command, sc.Text); !ok {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"response_type": "ephemeral", "text": "opsbot does not know the command " + sc.Command + "."})
		return
	}
	payload, _ := json.Marshal(sc)
	a.queue.push(envelope{Type: typeSlash, Payload: payload})
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(slashAck)
}

func atoiOr(s string, def int) int {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return def
		}
		n = n*10 + int(c-'0')
	}
	return n
}
