package hooks

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/opsbot/opsbot/clock"
	"github.com/opsbot/opsbot/event"
)

// DefaultMaxBytes bounds a delivery's body.
const DefaultMaxBytes = 1 << 20

// IngestFunc stores events (bot.Host.Ingest has this shape).
type IngestFunc func(ctx context.Context, events ...event.Event) ([]event.Stored, error)

// Handler serves POST /hooks/{source} and POST /hooks/generic/{name}:
// unknown source 404, body over MaxBytes 413, failed verification 401 (before
// the body is parsed), malformed payload 400, nothing to ingest 202
// {"ignored": …}, ingested 202 {"ids": […]}, store failure 503.
type Handler struct {
	Registry *Registry
	Ingest   IngestFunc
	MaxBytes int64
	Clock    clock.Clock
	Log      *slog.Logger
	// Observe, when set, is told each delivery's outcome (for metrics).
	Observe func(source, outcome string)
}

// Response is the JSON a delivery gets.
type Response struct {
	IDs     []string `json:"ids,omitempty"`
	Ignored string   `json:"ignored,omitempty"`
	Error   string   `json:"error,omitempty"`
}

// Outcomes passed to Observe.
const (
	OutcomeIngested     = "ingested"
	OutcomeIgnored      = "ignored"
	OutcomeUnknown      = "unknown_source"
	OutcomeTooLarge     = "too_large"
	OutcomeUnauthorized = "unauthorized"
	OutcomeMalformed    = "malformed"
	OutcomeFailed       = "failed"
)

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("source")
	if n := r.PathValue("name"); n != "" {
		name = "generic/" + n
	}
	log := h.Log
	if log == nil {
		log = slog.Default()
	}
	log = log.With("source", name)
	reply := func(code int, outcome string, resp Response) {
		if h.Observe != nil {
			h.Observe(name, outcome)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(resp)
	}
	src, ok := h.Registry.Lookup(name)
	if !ok {
		reply(http.StatusNotFound, OutcomeUnknown, Response{Error: "unknown or unconfigured webhook source " + strconv.Quote(name)})
		return
	}
	limit := h.MaxBytes
	if limit <= 0 {
		limit = DefaultMaxBytes
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			reply(http.StatusRequestEntityTooLarge, OutcomeTooLarge, Response{Error: "body over the limit of " + strconv.FormatInt(limit, 10) + " bytes"})
			return
		}
		reply(http.StatusBadRequest, OutcomeMalformed, Response{Error: "reading the body: " + err.Error()})
		return
	}
	req := &Request{Source: name, Header: r.Header, Query: r.URL.Query(), Body: body, Now: h.now()}
	if err := src.Verify(req); err != nil {
		log.Warn("webhook rejected", "reason", err.Error(), "remote", r.RemoteAddr)
		if !errors.Is(err, ErrUnauthorized) {
			err = Unauthorized("%s", err.Error())
		}
		reply(http.StatusUnauthorized, OutcomeUnauthorized, Response{Error: err.Error()})
		return
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		reply(http.StatusBadRequest, OutcomeMalformed, Response{Error: Malformed("empty body").Error()})
		return
	}
	events, err := src.Parse(req)
	var ign *Ignored
	switch {
	case errors.As(err, &ign):
		log.Info("webhook ignored", "reason", ign.Reason)
		reply(http.StatusAccepted, OutcomeIgnored, Response{Ignored: ign.Reason})
		return
	case err != nil:
		log.Warn("webhook payload rejected", "err", err)
		if !errors.Is(err, ErrMalformed) {
			err = Malformed("%s", err.Error())
		}
		reply(http.StatusBadRequest, OutcomeMalformed, Response{Error: err.Error()})
		return
	case len(events) == 0:
		reply(http.StatusAccepted, OutcomeIgnored, Response{Ignored: "the delivery carries no event"})
		return
	}
	for i := range events {
		if events[i].Time.IsZero() {
			events[i].Time = req.Now
		}
		if events[i].Source == "" {
			events[i].Source = name
		}
		Fit(&events[i])
	}
	stored, err := h.Ingest(r.Context(), events...)
	if errors.Is(err, event.ErrInvalid) {
		log.Warn("webhook events invalid", "err", err)
		reply(http.StatusBadRequest, OutcomeMalformed, Response{Error: Malformed("%v", err).Error()})
		return
	}
	if err != nil {
		log.Error("webhook events not stored", "events", len(events), "err", err)
		w.Header().Set("Retry-After", "5")
		reply(http.StatusServiceUnavailable, OutcomeFailed, Response{Error: "events could not be stored; retry"})
		return
	}
	ids := make([]string, len(stored))
	for i, s := range stored {
		ids[i] = s.ID
	}
	reply(http.StatusAccepted, OutcomeIngested, Response{IDs: ids})
}

func (h *Handler) now() time.Time {
	if h.Clock != nil {
		return h.Clock.Now()
	}
	return time.Now()
}
