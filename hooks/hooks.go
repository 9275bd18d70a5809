// Package hooks is the framework behind POST /hooks/{source}: a Source
// verifies a vendor's delivery (a signature over the raw body, or a token)
// and parses it into events; the Handler reads the body under a size limit,
// verifies BEFORE parsing, parses and ingests. One subpackage per vendor
// (hooks/github, hooks/alertmanager, …) implements Source. See docs/hooks.md.
package hooks

import (
	"net/http"
	"net/url"
	"time"

	"github.com/opsbot/opsbot/event"
)

// LabelSourceSeverity is the label that keeps a source's own severity
// ("disaster", "P1", "FAILURE") next to the mapped event severity.
const LabelSourceSeverity = "source_severity"

// Request is one delivery as received: the raw body bytes exactly as they
// came, which is what signatures cover.
type Request struct {
	// Source is the name in the path: "github", or "generic/NAME".
	Source string
	Header http.Header
	Query  url.Values
	Body   []byte
	// Now is the time of receipt (the bot's clock), for timestamps and
	// events whose payload has no time.
	Now time.Time
}

// Source is one vendor's webhook. Verify runs first, on the raw body, and
// must not parse it; Parse runs only on a verified delivery.
type Source interface {
	// Verify returns an error wrapping ErrUnauthorized when the delivery's
	// signature or token is missing or wrong. Its message must never
	// contain the secret or the presented credential.
	Verify(r *Request) error
	// Parse maps the delivery to events. It returns an error wrapping
	// ErrMalformed for a payload it cannot read, or an *Ignored for a
	// well-formed delivery that carries nothing to ingest.
	Parse(r *Request) ([]event.Event, error)
}
