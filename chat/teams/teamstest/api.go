package teamstest

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/.well-known/openidconfiguration", s.openID)
	mux.HandleFunc("GET /v1/.well-known/keys", s.keys)
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/token", s.token)
	mux.HandleFunc("POST /amer/v3/conversations/{conv}/activities", s.send)
	mux.HandleFunc("POST /amer/v3/conversations/{conv}/activities/{id}", s.send)
	mux.HandleFunc("PUT /amer/v3/conversations/{conv}/activities/{id}", s.update)
	mux.HandleFunc("POST /webhookb2/{tenant}/IncomingWebhook/{id}/{owner}", s.webhook)
	mux.HandleFunc("POST /workflows/{id}/triggers/manual/paths/invoke", s.webhook)
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func connectorError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

func (s *Server) openID(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                Issuer,
		"authorization_endpoint":                s.URL + "/v1/.well-known/authorize",
		"jwks_uri":                              s.URL + "/v1/.well-known/keys",
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"token_endpoint_auth_methods_supported": []string{"private_key_jwt"},
	})
}

func (s *Server) keys(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.keyFetches++
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"keys": []any{s.jwk()}})
}

// token is the Entra ID token endpoint's client-credentials grant.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	oauthErr := func(status int, code, desc string) {
		writeJSON(w, status, map[string]any{"error": code, "error_description": desc, "error_codes": []int{}, "timestamp": time.Now().UTC().Format("2006-01-02 15:04:05Z")})
	}
	if err := r.ParseForm(); err != nil {
		oauthErr(http.StatusBadRequest, "invalid_request", "AADSTS900144: The request body must contain the following parameter: 'grant_type'.")
		return
	}
	tenant := r.PathValue("tenant")
	switch {
	case tenant != "botframework.com" && tenant != s.TenantID:
		oauthErr(http.StatusBadRequest, "invalid_tenant", "AADSTS90002: Tenant '"+tenant+"' not found.")
	case r.PostForm.Get("grant_type") != "client_credentials":
		oauthErr(http.StatusBadRequest, "unsupported_grant_type", "AADSTS70003: The app requested an unsupported grant type.")
	case r.PostForm.Get("client_id") != s.AppID:
		oauthErr(http.StatusBadRequest, "unauthorized_client", "AADSTS700016: Application with identifier was not found in the directory.")
	case r.PostForm.Get("client_secret") != s.Password:
		oauthErr(http.StatusUnauthorized, "invalid_client", "AADSTS7000215: Invalid client secret provided.")
	case r.PostForm.Get("scope") != Scope:
		oauthErr(http.StatusBadRequest, "invalid_scope", "AADSTS1002012: The provided value for scope is not valid.")
	default:
		token := "eyJ0eXAiOiJKV1Qi." + strings.ReplaceAll(newUUID(), "-", "") + ".fake"
		s.mu.Lock()
		s.tokens[token] = s.Now().Add(time.Hour)
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": token})
	}
}

// KeyFetches is how many times the signing keys were fetched.
func (s *Server) KeyFetches() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keyFetches
}

// ExpireTokens makes every access token issued so far invalid.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.tokens)
}

// Posts is the number of connector requests that reached a handler.
func (s *Server) Posts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.posts
}

// authorized checks the connector request's bearer token; false means it
// answered (401, or 429 when throttled).
func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.tokens[token]
	if !ok || !s.Now().Before(exp) {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "Authorization has been denied for this request."})
		return false
	}
	s.posts++
	if s.throttled > 0 {
		s.throttled--
		w.Header().Set("Retry-After", strconv.Itoa(s.retry))
		connectorError(w, http.StatusTooManyRequests, "TooManyRequests", "Too many requests.")
		return false
	}
	return true
}

// send creates an activity: in the conversation, or in a channel thread
// when the conversation ID ends in ";messageid=ROOT" or the path names the
// activity replied to.
func (s *Server) send(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if err != nil {
		connectorError(w, http.StatusBadRequest, "BadArgument", "Unreadable body.")
		return
	}
	if len(body) > MaxActivity {
		connectorError(w, http.StatusRequestEntityTooLarge, "MessageSizeTooBig", "Message size too big.")
		return
	}
	var act map[string]any
	if err := json.Unmarshal(body, &act); err != nil || act["type"] != "message" {
		connectorError(w, http.StatusBadRequest, "BadArgument", "Invalid activity.")
		return
	}
	base, root, _ := strings.Cut(r.PathValue("conv"), ";messageid=")
	if replyTo := r.PathValue("id"); replyTo != "" && root == "" {
		root = replyTo
	}
	s.mu.Lock()
	c := s.convs[base]
	if c == nil {
		s.mu.Unlock()
		connectorError(w, http.StatusNotFound, "ConversationNotFound", "Conversation not found.")
		return
	}
	if root != "" {
		if c.Kind != "channel" {
			s.mu.Unlock()
			connectorError(w, http.StatusBadRequest, "BadSyntax", "Threads exist only in channels.")
			return
		}
		found := false
		for _, a := range s.activities {
			if a.ID == root && a.Conversation == base {
				found = true
				if a.Root != "" {
					root = a.Root
				}
			}
		}
		if !found {
			s.mu.Unlock()
			connectorError(w, http.StatusNotFound, "NotFound", "The message replied to was not found.")
			return
		}
	}
	s.seq++
	id := strconv.FormatInt(s.Now().UnixMilli()*1000+s.seq, 10)
	text, _ := act["text"].(string)
	s.activities = append(s.activities, Activity{ID: id, Conversation: base, Root: root, FromBot: true, Text: text, Body: act})
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, map[string]string{"id": id})
}

// update replaces one of the bot's activities.
func (s *Server) update(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	var act map[string]any
	if err := json.NewDecoder(io.LimitReader(r.Body, 4<<20)).Decode(&act); err != nil || act["type"] != "message" {
		connectorError(w, http.StatusBadRequest, "BadArgument", "Invalid activity.")
		return
	}
	base, _, _ := strings.Cut(r.PathValue("conv"), ";messageid=")
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, a := range s.activities {
		if a.ID == r.PathValue("id") && a.Conversation == base {
			if !a.FromBot {
				connectorError(w, http.StatusForbidden, "Forbidden", "The bot can only update its own messages.")
				return
			}
			text, _ := act["text"].(string)
			s.activities[i].Body, s.activities[i].Text, s.activities[i].Edited = act, text, true
			writeJSON(w, http.StatusOK, map[string]string{"id": a.ID})
			return
		}
	}
	connectorError(w, http.StatusNotFound, "NotFound", "Activity not found.")
}
