// Package grafana parses Grafana unified alerting's webhook contact point:
// the Alertmanager payload (version "1") with Grafana's additions, one event
// per alert. With a secret it checks Grafana's HMAC signature
// (X-Grafana-Alerting-Signature: hex HMAC-SHA256 of the body, or of
// "TIMESTAMP:BODY" when a timestamp header is configured); with a token, the
// contact point's Authorization header or basic auth.
package grafana

import (
	"errors"
	"strconv"
	"time"

	"github.com/opsbot/opsbot/event"
	"github.com/opsbot/opsbot/hooks"
	"github.com/opsbot/opsbot/hooks/alertmanager"
)

// DefaultSignatureHeader is Grafana's default HMAC header.
const DefaultSignatureHeader = "X-Grafana-Alerting-Signature"

// Options configure the source; Secret or Token (or both) is required.
type Options struct {
	Secret string
	// SignatureHeader (default X-Grafana-Alerting-Signature) and
	// TimestampHeader (none by default) as set in the contact point's
	// "HMAC Signature" settings.
	SignatureHeader string
	TimestampHeader string
	// Tolerance is how old a signed timestamp may be (default 5m).
	Tolerance time.Duration
	Token     string
	Username  string
}

// Source is the Grafana webhook source.
type Source struct{ o Options }

var _ hooks.Source = (*Source)(nil)

// New returns the source.
func New(o Options) (*Source, error) {
	if o.Secret == "" && o.Token == "" {
		return nil, errors.New("grafana: a secret (HMAC) or a token is required")
	}
	if o.SignatureHeader == "" {
		o.SignatureHeader = DefaultSignatureHeader
	}
	if o.Tolerance <= 0 {
		o.Tolerance = hooks.DefaultTolerance
	}
	return &Source{o: o}, nil
}

// Verify checks the signature when a secret is configured and the token when
// one is (both when both are).
func (s *Source) Verify(r *hooks.Request) error {
	if s.o.Secret != "" {
		sig := r.Header.Get(s.o.SignatureHeader)
		if sig == "" {
			return hooks.Unauthorized("missing %s", s.o.SignatureHeader)
		}
		parts := [][]byte{r.Body}
		if s.o.TimestampHeader != "" {
			ts := r.Header.Get(s.o.TimestampHeader)
			if err := hooks.CheckTimestamp(ts, r.Now, s.o.Tolerance); err != nil {
				return err
			}
			parts = [][]byte{[]byte(ts), []byte(":"), r.Body}
		}
		if !hooks.ValidHexHMAC(s.o.Secret, sig, parts...) {
			return hooks.Unauthorized("invalid %s", s.o.SignatureHeader)
		}
	}
	if s.o.Token != "" {
		return hooks.TokenAuth{Token: s.o.Token, Username: s.o.Username}.Verify(r)
	}
	return nil
}

type message struct {
	alertmanager.Message
	OrgID int    `json:"orgId"`
	Title string `json:"title"`
	State string `json:"state"`
	Text  string `json:"message"`
}

// Parse maps each alert to an event tagged alert.grafana.
func (s *Source) Parse(r *hooks.Request) ([]event.Event, error) {
	var m message
	if err := hooks.Decode(r.Body, &m); err != nil {
		return nil, err
	}
	if m.Version == "" {
		return nil, hooks.Missing("version")
	}
	evs, err := alertmanager.Events("alert.grafana", "grafana", &m.Message)
	if err != nil {
		return nil, err
	}
	if m.OrgID != 0 {
		for i := range evs {
			evs[i].Labels["grafana_org"] = strconv.Itoa(m.OrgID)
		}
	}
	return evs, nil
}
