package hooks_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/opsbot/opsbot/event"
	"github.com/opsbot/opsbot/hooks"
	"github.com/opsbot/opsbot/hooks/alertmanager"
	"github.com/opsbot/opsbot/hooks/github"
	"github.com/opsbot/opsbot/hooks/hookstest"
)

func discard(_ context.Context, evs ...event.Event) ([]event.Stored, error) {
	out := make([]event.Stored, len(evs))
	for i := range evs {
		out[i].Event = evs[i]
	}
	return out, nil
}

// benchHandler measures a delivery through the handler (read, verify,
// parse, fit) with an ingester that stores nothing: the webhook layer's own
// cost, without the event log.
func benchHandler(b *testing.B, name string, src hooks.Source, body []byte, headers ...string) {
	reg := hooks.NewRegistry()
	if err := reg.Register(name, src); err != nil {
		b.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("POST /hooks/{source}", &hooks.Handler{Registry: reg, Ingest: discard})
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req := httptest.NewRequest(http.MethodPost, "/hooks/"+name, bytes.NewReader(body))
		for j := 0; j+1 < len(headers); j += 2 {
			req.Header.Set(headers[j], headers[j+1])
		}
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, req)
		if w.Code != http.StatusAccepted {
			b.Fatalf("%d %s", w.Code, w.Body)
		}
	}
}

func BenchmarkGitHubPush(b *testing.B) {
	body, err := os.ReadFile("github/testdata/push.branch_with_commit.json")
	if err != nil {
		b.Fatal(err)
	}
	src, _ := github.New("bench-secret")
	benchHandler(b, "github", src, body, github.SignatureHeader, "sha256="+hookstest.HexHMAC("bench-secret", body),
		github.EventHeader, "push", github.DeliveryHeader, "d")
}

func BenchmarkAlertmanagerGroup(b *testing.B) {
	body, err := os.ReadFile("alertmanager/testdata/webhook.v4.firing_and_resolved.json")
	if err != nil {
		b.Fatal(err)
	}
	src, _ := alertmanager.New("bench-token", "")
	benchHandler(b, "alertmanager", src, body, "Authorization", "Bearer bench-token")
}

func BenchmarkVerifyHMAC(b *testing.B) {
	body, err := os.ReadFile("github/testdata/push.branch_with_commit.json")
	if err != nil {
		b.Fatal(err)
	}
	sig := hookstest.HexHMAC("bench-secret", body)
	b.SetBytes(int64(len(body)))
	for i := 0; i < b.N; i++ {
		if !hooks.ValidHexHMAC("bench-secret", sig, body) {
			b.Fatal("invalid")
		}
	}
}
