package teamstest

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// Webhook is a channel's incoming webhook: the Office 365 connector kind
// (answers 200 and "1", and reports some errors as 200 with a text) or a
// Workflows flow (answers 202).
type Webhook struct {
	Name      string
	URL       string
	Workflows bool
	posts     []map[string]any
}

// AddWebhook creates an incoming webhook (a Workflows one when workflows is set).
func (s *Server) AddWebhook(name string, workflows bool) *Webhook {
	id := strings.ReplaceAll(newUUID(), "-", "")
	w := &Webhook{Name: name, Workflows: workflows}
	if workflows {
		w.URL = s.srv.URL + "/workflows/" + id + "/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=" + id
	} else {
		w.URL = s.srv.URL + "/webhookb2/" + newUUID() + "@" + s.TenantID + "/IncomingWebhook/" + id + "/" + newUUID()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.webhooks == nil {
		s.webhooks = map[string]*Webhook{}
	}
	s.webhooks[id] = w
	return w
}

// WebhookSeen renders what a person sees of the webhook's posts.
func (s *Server) WebhookSeen(w *Webhook) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, p := range w.posts {
		out = append(out, Render(p))
	}
	return out
}

// WebhookPosts returns the messages posted to the webhook.
func (s *Server) WebhookPosts(w *Webhook) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]map[string]any(nil), w.posts...)
}

func (s *Server) webhook(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	hook := s.webhooks[r.PathValue("id")]
	throttled := s.throttled > 0
	if throttled {
		s.throttled--
	}
	retry := s.retry
	s.mu.Unlock()
	if hook == nil || (hook.Workflows && r.URL.Query().Get("sig") != r.PathValue("id")) {
		http.Error(w, "Webhook not found", http.StatusNotFound)
		return
	}
	// The connector reports the Teams endpoint's errors as text in a 200.
	fail := func(status int, text string) {
		if hook.Workflows {
			w.Header().Set("Retry-After", itoa(retry))
			http.Error(w, text, status)
			return
		}
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, "Webhook message delivery failed with error: Microsoft Teams endpoint returned HTTP error "+itoa(status)+" with ContextId "+newUUID()+".")
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if throttled {
		fail(http.StatusTooManyRequests, "Too many requests")
		return
	}
	if len(body) > MaxActivity {
		fail(http.StatusRequestEntityTooLarge, "Request entity too large")
		return
	}
	var msg map[string]any
	if err := json.Unmarshal(body, &msg); err != nil || msg["type"] != "message" {
		http.Error(w, "Summary or Text is required.", http.StatusBadRequest)
		return
	}
	atts, _ := msg["attachments"].([]any)
	if len(atts) != 1 {
		http.Error(w, "Summary or Text is required.", http.StatusBadRequest)
		return
	}
	att, _ := atts[0].(map[string]any)
	card, _ := att["content"].(map[string]any)
	if att["contentType"] != "application/vnd.microsoft.card.adaptive" || card["type"] != "AdaptiveCard" {
		http.Error(w, "Invalid card: type must be AdaptiveCard.", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	hook.posts = append(hook.posts, msg)
	s.mu.Unlock()
	if hook.Workflows {
		w.WriteHeader(http.StatusAccepted)
		return
	}
	io.WriteString(w, "1")
}

func itoa(n int) string { return strconv.Itoa(n) }
