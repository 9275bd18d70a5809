package redact

import (
	"bytes"
	"errors"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRedactor(t *testing.T) {
	r := New("s3cret-token", "abc", "s3cret")
	require.Equal(t, "x [redacted] y [redacted]", r.String("x s3cret-token y s3cret"))
	require.Equal(t, "abc", r.String("abc"), "short values are not secrets")
	var nilR *Redactor
	require.Equal(t, "plain", nilR.String("plain"))
}

func TestHandlerMasksEverything(t *testing.T) {
	var buf bytes.Buffer
	r := New("hunter22")
	log := slog.New(r.Handler(slog.NewJSONHandler(&buf, nil))).With("pre", "hunter22")
	log.Info("login hunter22", "pw", "hunter22", "err", errors.New("bad hunter22"), slog.Group("g", "k", "hunter22"))
	require.NotContains(t, buf.String(), "hunter22")
	require.Contains(t, buf.String(), Mask)
}
