package events

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/opsbot/opsbot/event"
)

// DefaultSource is the source of an API event that names none.
const DefaultSource = "api"

// apiHandler serves POST /api/v1/events: one event object or a JSON array
// of them; 202 {"ids":[…]} once stored. The listener has checked the token.
func (m *Module) apiHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, m.cfg.MaxBody))
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body: more than the limit of %d bytes", m.cfg.MaxBody))
				return
			}
			writeError(w, http.StatusBadRequest, "body: "+err.Error())
			return
		}
		evs, array, err := decodeEvents(body)
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		if len(evs) > m.cfg.MaxEvents {
			writeError(w, http.StatusRequestEntityTooLarge,
				fmt.Sprintf("events: %d events, more than the limit of %d per request", len(evs), m.cfg.MaxEvents))
			return
		}
		for i := range evs {
			if evs[i].Source == "" {
				evs[i].Source = DefaultSource
			}
		}
		if err := event.NormalizeAll(evs, m.clock.Now(), array); err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		stored, err := m.ing.Ingest(r.Context(), evs)
		switch {
		case err == nil:
		case errors.Is(err, event.ErrInvalid):
			writeError(w, http.StatusBadRequest, err.Error())
			return
		case errors.Is(err, event.ErrClosed), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
			w.Header().Set("Retry-After", "1")
			writeError(w, http.StatusServiceUnavailable, "opsbot is shutting down or the request ended; the events may not be stored: retry")
			return
		default:
			slog.Default().Error("ingest API: store events", "events", len(evs), "err", err)
			w.Header().Set("Retry-After", "1")
			writeError(w, http.StatusServiceUnavailable, "could not store the events; retry")
			return
		}
		ids := make([]string, len(stored))
		for i, s := range stored {
			ids[i] = s.ID
		}
		writeJSON(w, http.StatusAccepted, map[string][]string{"ids": ids})
	})
}

// decodeEvents reads one event object or an array of them, strictly: an
// unknown field or a value of the wrong type is an error naming the field
// ("events[3].labels.host: …"). array tells which form the body had.
func decodeEvents(body []byte) ([]event.Event, bool, error) {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 {
		return nil, false, errors.New("body: empty; send an event object or a JSON array of events")
	}
	if trimmed[0] != '[' {
		var e event.Event
		if err := decodeStrict(trimmed, &e, ""); err != nil {
			return nil, false, err
		}
		return []event.Event{e}, false, nil
	}
	var raws []json.RawMessage
	if err := decodeStrict(trimmed, &raws, ""); err != nil {
		return nil, true, err
	}
	if len(raws) == 0 {
		return nil, true, errors.New("events: the array is empty")
	}
	evs := make([]event.Event, len(raws))
	for i, raw := range raws {
		if err := decodeStrict(raw, &evs[i], fmt.Sprintf("events[%d]", i)); err != nil {
			return nil, true, err
		}
	}
	return evs, true, nil
}

// decodeStrict decodes one JSON value into v, refusing unknown fields and
// trailing data, and words the error with the field's path under prefix.
func decodeStrict(data []byte, v any, prefix string) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, terr := dec.Token(); terr != io.EOF {
			return fmt.Errorf("%s: unexpected data after the JSON value", orBody(prefix))
		}
		return nil
	}
	join := func(field string) string {
		switch {
		case prefix == "":
			return field
		case field == "":
			return prefix
		}
		return prefix + "." + field
	}
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var perr *time.ParseError
	switch {
	case errors.As(err, &syntax):
		return fmt.Errorf("%s: invalid JSON at byte %d: %s", orBody(prefix), syntax.Offset, strings.TrimPrefix(syntax.Error(), "json: "))
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return fmt.Errorf("%s: the JSON ends too early", orBody(prefix))
	case errors.As(err, &typ):
		if typ.Field == "" {
			return fmt.Errorf("%s: %s where an event object or an array of events is expected", orBody(prefix), typ.Value)
		}
		return fmt.Errorf("%s: %s where %s is expected", join(typ.Field), typ.Value, kind(typ.Type.String()))
	case errors.As(err, &perr):
		return fmt.Errorf("%s: %q is not an RFC 3339 time (2026-11-22T09:00:00Z)", join("time"), perr.Value)
	}
	if field, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return fmt.Errorf("%s: unknown field", join(strings.Trim(field, `"`)))
	}
	return fmt.Errorf("%s: %s", orBody(prefix), strings.TrimPrefix(err.Error(), "json: "))
}

func orBody(prefix string) string {
	if prefix == "" {
		return "body"
	}
	return prefix
}

// kind names a Go type of the event model as a JSON kind.
func kind(goType string) string {
	switch {
	case strings.HasPrefix(goType, "map["):
		return "an object of strings"
	case strings.HasPrefix(goType, "[]"):
		return "an array"
	case goType == "event.Event", goType == "event.Link":
		return "an object"
	case goType == "time.Time":
		return "an RFC 3339 time"
	}
	return "a string"
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}
