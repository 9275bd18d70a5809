package statuspage_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/clock"
	"github.com/opsbot/opsbot/config"
	"github.com/opsbot/opsbot/statuspage"
)

func newService(t *testing.T, db *sql.DB, clk clock.Clock) *statuspage.Service {
	cfg := statuspage.Config{
		Title: "Example <Status>",
		URL:   "https://status.example.com/",
		Components: []statuspage.ComponentConfig{
			{Name: "API", Group: "Core"}, {Name: "Build Processing", Group: "Core", Aliases: []string{"builds"}}, {Name: "Website"},
		},
		Maintenance: []statuspage.WindowConfig{{Name: "Database upgrade", Message: "short pauses", Components: []string{"Website"},
			Starts: "2026-11-22 10:00", Ends: "2026-11-22 11:00"}},
		MaxAge: config.Duration(time.Minute),
	}
	require.NoError(t, cfg.Validate())
	return statuspage.NewService(cfg, statuspage.NewStore(db), clk, time.UTC, nil)
}

func TestPublicDocuments(t *testing.T) {
	databases(t, func(t *testing.T, db *sql.DB) {
		ctx := context.Background()
		clk := clock.NewFake(time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC))
		svc := newService(t, db, clk)
		h := statuspage.NewHandlers(svc, nil)
		get := func(hd http.Handler, hdr ...string) *httptest.ResponseRecorder {
			req := httptest.NewRequest(http.MethodGet, "http://ignored.test/x", nil)
			for i := 0; i+1 < len(hdr); i += 2 {
				req.Header.Set(hdr[i], hdr[i+1])
			}
			rec := httptest.NewRecorder()
			hd.ServeHTTP(rec, req)
			return rec
		}

		page := get(h.Page())
		require.Equal(t, http.StatusOK, page.Code)
		body := page.Body.String()
		require.Equal(t, "public, max-age=60", page.Header().Get("Cache-Control"))
		require.NotContains(t, strings.ToLower(body), "<script", "no JavaScript")
		require.Contains(t, body, "Example &lt;Status&gt;", "escaped")
		require.Contains(t, body, "All Systems Operational")
		require.Contains(t, body, "Database upgrade", "upcoming maintenance is shown")
		require.Contains(t, page.Header().Get("Content-Security-Policy"), "default-src 'none'")
		require.Empty(t, page.Header().Get("Last-Modified"), "nothing has changed yet")
		require.Contains(t, get(h.JSON()).Body.String(), `"updated_at": null`)

		// A conditional request with the ETag gets 304 until something changes.
		etag := page.Header().Get("ETag")
		require.NotEmpty(t, etag)
		require.Equal(t, http.StatusNotModified, get(h.Page(), "If-None-Match", etag).Code)
		c, _, _ := svc.Find("builds")
		_, _, err := svc.SetState(ctx, c, statuspage.Partial, "alice")
		require.NoError(t, err)
		again := get(h.Page(), "If-None-Match", etag)
		require.Equal(t, http.StatusOK, again.Code)
		require.Contains(t, again.Body.String(), `data-component="Build Processing" data-state="partial_outage"`)
		require.Contains(t, again.Body.String(), "Partial System Outage")
		require.Equal(t, "Sun, 22 Nov 2026 09:00:00 GMT", again.Header().Get("Last-Modified"))

		clk.Advance(time.Hour) // into the maintenance window
		_, err = svc.Open(ctx, statuspage.Investigating, "Builds delayed", "looking <into> it", "alice")
		require.NoError(t, err)

		var doc struct {
			Page       struct{ Name, URL string }
			Status     struct{ Indicator, Description string }
			Components []struct {
				Name, Status, Group string
			}
			Incidents []struct {
				ID         int64
				Name       string
				Status     string
				Impact     string
				Components []string
				Shortlink  string
				Updates    []struct{ Status, Body string } `json:"incident_updates"`
			}
			Maintenance []struct{ Name, Status string } `json:"scheduled_maintenances"`
		}
		js := get(h.JSON())
		require.Equal(t, "application/json", js.Header().Get("Content-Type"))
		require.NoError(t, json.Unmarshal(js.Body.Bytes(), &doc))
		require.Equal(t, "https://status.example.com/status", doc.Page.URL)
		require.Equal(t, "major", doc.Status.Indicator)
		require.Equal(t, "under_maintenance", doc.Components[2].Status, "the maintenance window is on")
		require.Equal(t, "Core", doc.Components[0].Group)
		require.Len(t, doc.Incidents, 1)
		require.Equal(t, "major", doc.Incidents[0].Impact)
		require.Equal(t, []string{"Build Processing", "Website"}, doc.Incidents[0].Components)
		require.Equal(t, "https://status.example.com/status#incident-1", doc.Incidents[0].Shortlink)
		require.Equal(t, "looking <into> it", doc.Incidents[0].Updates[0].Body)
		require.Equal(t, "in_progress", doc.Maintenance[0].Status)

		feed := get(h.Feed())
		require.Equal(t, "application/atom+xml; charset=utf-8", feed.Header().Get("Content-Type"))
		var atom struct {
			XMLName xml.Name `xml:"http://www.w3.org/2005/Atom feed"`
			Title   string   `xml:"title"`
			Entries []struct {
				Title   string `xml:"title"`
				ID      string `xml:"id"`
				Content string `xml:"content"`
			} `xml:"entry"`
		}
		require.NoError(t, xml.Unmarshal(feed.Body.Bytes(), &atom))
		require.Equal(t, "Example <Status> incidents", atom.Title)
		require.Len(t, atom.Entries, 1)
		require.Equal(t, "Builds delayed (investigating)", atom.Entries[0].Title)
		require.Contains(t, atom.Entries[0].Content, "looking &lt;into&gt; it")

		api := func(q string) *httptest.ResponseRecorder {
			rec := httptest.NewRecorder()
			h.Incidents().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/incidents"+q, nil))
			return rec
		}
		require.Equal(t, http.StatusOK, api("?status=open").Code)
		require.Contains(t, api("?status=open").Body.String(), `"name":"Builds delayed"`)
		require.Contains(t, api("?status=resolved").Body.String(), `"incidents":[]`)
		bad := api("?limit=0")
		require.Equal(t, http.StatusBadRequest, bad.Code)
		require.Contains(t, bad.Body.String(), "limit: must be")
		require.Equal(t, http.StatusBadRequest, api("?status=maybe").Code)
		require.Equal(t, http.StatusBadRequest, api("?before=x").Code)
	})
}
