package statuspage

import (
	"bytes"
	"embed"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"html/template"
	"slices"
	"strings"
	"time"
)

//go:embed templates/status.html
var templates embed.FS

var pageTemplate = template.Must(template.New("status.html").Funcs(template.FuncMap{
	"iso":   func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"human": func(t time.Time) string { return t.UTC().Format("Jan 2, 15:04 MST") },
	"join":  func(ss []string) string { return strings.Join(ss, ", ") },
	"rev": func(us []Update) []Update {
		out := slices.Clone(us)
		slices.Reverse(out)
		return out
	},
}).ParseFS(templates, "templates/status.html"))

// HTML renders the public page: plain HTML and CSS, no script. base is the
// page's public root URL (no trailing slash).
func HTML(s Summary, base string, days int) ([]byte, error) {
	grouped := false
	for _, g := range s.Groups {
		if g.Name != "" {
			grouped = true
		}
	}
	var b bytes.Buffer
	err := pageTemplate.Execute(&b, struct {
		S       Summary
		Base    string
		Days    int
		Grouped bool
	}{s, base, days, grouped})
	if err != nil {
		return nil, fmt.Errorf("render status page: %w", err)
	}
	return b.Bytes(), nil
}

// JSON document shapes, after Atlassian Statuspage's public summary.json.
type jsonPage struct {
	Name      string     `json:"name"`
	URL       string     `json:"url"`
	UpdatedAt *time.Time `json:"updated_at"` // null before the first change
}

type jsonStatus struct {
	Indicator   string `json:"indicator"`
	Description string `json:"description"`
}

type jsonComponent struct {
	Name        string     `json:"name"`
	Status      State      `json:"status"`
	Group       string     `json:"group,omitempty"`
	Description string     `json:"description,omitempty"`
	UpdatedAt   *time.Time `json:"updated_at"`
}

type jsonUpdate struct {
	ID        int64     `json:"id"`
	Status    Status    `json:"status"`
	Body      string    `json:"body"`
	CreatedAt time.Time `json:"created_at"`
}

// IncidentJSON is an incident as the JSON documents and the API show it.
type IncidentJSON struct {
	ID         int64        `json:"id"`
	Name       string       `json:"name"`
	Status     Status       `json:"status"`
	Impact     string       `json:"impact"`
	Components []string     `json:"components"`
	CreatedAt  time.Time    `json:"created_at"`
	UpdatedAt  time.Time    `json:"updated_at"`
	ResolvedAt *time.Time   `json:"resolved_at"`
	Shortlink  string       `json:"shortlink,omitempty"`
	Updates    []jsonUpdate `json:"incident_updates"`
}

type jsonMaintenance struct {
	Name           string    `json:"name"`
	Message        string    `json:"message,omitempty"`
	Components     []string  `json:"components"`
	ScheduledFor   time.Time `json:"scheduled_for"`
	ScheduledUntil time.Time `json:"scheduled_until"`
	Status         string    `json:"status"`
}

type jsonSummary struct {
	Page        jsonPage          `json:"page"`
	Status      jsonStatus        `json:"status"`
	Components  []jsonComponent   `json:"components"`
	Incidents   []IncidentJSON    `json:"incidents"`
	Maintenance []jsonMaintenance `json:"scheduled_maintenances"`
}

// impactWord is Statuspage's incident impact for the worst component state.
func impactWord(s State) string {
	switch s {
	case Degraded:
		return "minor"
	case Partial:
		return "major"
	case Major:
		return "critical"
	case Maintenance:
		return "maintenance"
	}
	return "none"
}

// ToJSON converts an incident for the JSON documents; base makes the shortlink.
func ToJSON(inc Incident, base string) IncidentJSON {
	j := IncidentJSON{ID: inc.ID, Name: inc.Name, Status: inc.Status, Impact: impactWord(inc.Impact),
		Components: inc.Components, CreatedAt: inc.Created, UpdatedAt: inc.Updated, Updates: []jsonUpdate{}}
	if j.Components == nil {
		j.Components = []string{}
	}
	if !inc.Resolved.IsZero() {
		r := inc.Resolved
		j.ResolvedAt = &r
	}
	if base != "" {
		j.Shortlink = fmt.Sprintf("%s/status#incident-%d", base, inc.ID)
	}
	for i := len(inc.Updates) - 1; i >= 0; i-- { // newest first, as Statuspage lists them
		u := inc.Updates[i]
		j.Updates = append(j.Updates, jsonUpdate{ID: u.ID, Status: u.Status, Body: u.Body, CreatedAt: u.Time})
	}
	return j
}

// JSON renders the summary document: the page, the overall status,
// components, open and recent incidents (newest first), maintenance.
func JSON(s Summary, base string) ([]byte, error) {
	doc := jsonSummary{
		Page:        jsonPage{Name: s.Title, URL: base + "/status"},
		Status:      jsonStatus{Indicator: s.Indicator(), Description: s.Description()},
		Components:  []jsonComponent{},
		Incidents:   []IncidentJSON{},
		Maintenance: []jsonMaintenance{},
	}
	if !s.Updated.IsZero() {
		u := s.Updated
		doc.Page.UpdatedAt = &u
	}
	for _, c := range s.Components {
		jc := jsonComponent{Name: c.Name, Status: c.State, Group: c.Group, Description: c.Description}
		if !c.Updated.IsZero() {
			u := c.Updated
			jc.UpdatedAt = &u
		}
		doc.Components = append(doc.Components, jc)
	}
	seen := map[int64]bool{}
	for _, inc := range append(slices.Clone(s.Open), s.Past...) {
		if !seen[inc.ID] {
			seen[inc.ID] = true
			doc.Incidents = append(doc.Incidents, ToJSON(inc, base))
		}
	}
	slices.SortStableFunc(doc.Incidents, func(a, b IncidentJSON) int { return int(b.ID - a.ID) })
	for _, w := range s.Maintenance {
		st := "scheduled"
		if w.Active(s.Now) {
			st = "in_progress"
		}
		comps := w.Components
		if comps == nil {
			comps = []string{}
		}
		doc.Maintenance = append(doc.Maintenance, jsonMaintenance{Name: w.Name, Message: w.Message, Components: comps,
			ScheduledFor: w.Starts, ScheduledUntil: w.Ends, Status: st})
	}
	return json.MarshalIndent(doc, "", "  ")
}

// Atom (RFC 4287) feed of incidents.
type atomFeed struct {
	XMLName xml.Name    `xml:"http://www.w3.org/2005/Atom feed"`
	Title   string      `xml:"title"`
	ID      string      `xml:"id"`
	Updated string      `xml:"updated"`
	Links   []atomLink  `xml:"link"`
	Author  atomAuthor  `xml:"author"`
	Entries []atomEntry `xml:"entry"`
}

type atomLink struct {
	Rel  string `xml:"rel,attr,omitempty"`
	Type string `xml:"type,attr,omitempty"`
	Href string `xml:"href,attr"`
}

type atomAuthor struct {
	Name string `xml:"name"`
}

type atomText struct {
	Type string `xml:"type,attr"`
	Body string `xml:",chardata"`
}

type atomEntry struct {
	Title     string   `xml:"title"`
	ID        string   `xml:"id"`
	Published string   `xml:"published"`
	Updated   string   `xml:"updated"`
	Link      atomLink `xml:"link"`
	Content   atomText `xml:"content"`
}

// Atom renders the incidents of the summary (open and recent) as an Atom
// feed, one entry per incident whose content is its timeline.
func Atom(s Summary, base string) ([]byte, error) {
	updated := s.Updated
	if updated.IsZero() {
		updated = s.Now // RFC 4287 requires a feed's updated
	}
	f := atomFeed{
		Title: s.Title + " incidents", ID: base + "/status/feed.atom", Updated: updated.UTC().Format(time.RFC3339),
		Links:  []atomLink{{Rel: "self", Type: "application/atom+xml", Href: base + "/status/feed.atom"}, {Rel: "alternate", Type: "text/html", Href: base + "/status"}},
		Author: atomAuthor{Name: s.Title},
	}
	seen := map[int64]bool{}
	all := append(slices.Clone(s.Open), s.Past...)
	slices.SortStableFunc(all, func(a, b Incident) int { return int(b.ID - a.ID) })
	for _, inc := range all {
		if seen[inc.ID] {
			continue
		}
		seen[inc.ID] = true
		var body strings.Builder
		for i := len(inc.Updates) - 1; i >= 0; i-- {
			u := inc.Updates[i]
			fmt.Fprintf(&body, "<p><strong>%s</strong> — %s <small>%s</small></p>", template.HTMLEscapeString(string(u.Status)),
				template.HTMLEscapeString(u.Body), u.Time.UTC().Format(time.RFC3339))
		}
		link := fmt.Sprintf("%s/status#incident-%d", base, inc.ID)
		f.Entries = append(f.Entries, atomEntry{
			Title: fmt.Sprintf("%s (%s)", inc.Name, inc.Status), ID: link,
			Published: inc.Created.UTC().Format(time.RFC3339), Updated: inc.Updated.UTC().Format(time.RFC3339),
			Link: atomLink{Rel: "alternate", Type: "text/html", Href: link}, Content: atomText{Type: "html", Body: body.String()},
		})
	}
	out, err := xml.MarshalIndent(f, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("render feed: %w", err)
	}
	return append([]byte(xml.Header), out...), nil
}
