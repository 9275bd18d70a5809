package fleet

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Health is a health answer read into its parts. It understands the IETF
// health check response format ({"status": "pass|warn|fail", "checks":
// {"name": [{"status": …}]}}), Spring Boot's actuator ({"status": "UP",
// "components": {"db": {"status": "UP"}}}), flat maps ({"checks": {"db":
// "ok"}}), lists ({"checks": [{"name": "db", "status": "ok"}]}) and plain text.
type Health struct {
	Status  string  // as the instance wrote it ("pass", "UP", "ok"); "" when it wrote none
	Version string  // "releaseId" (the IETF format's release), "version" or "build.version"
	Checks  []Check // its components, sorted by name
	Text    string  // a plain-text answer (trimmed, first lines)
}

// Check is one component of a health answer.
type Check struct {
	Name   string
	Status string
	Detail string // "observedValue", "output", "message" or "error"
}

// stateOf maps the many spellings of health to a State; "" is Up.
func stateOf(s string) State {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "pass", "ok", "up", "healthy", "green", "running", "success", "true":
		return Up
	case "warn", "warning", "degraded", "yellow", "partial", "out_of_service":
		return Degraded
	}
	return Down
}

// State is the health the answer states: its own status, else the worst of
// its checks.
func (h Health) State() State {
	if h.Status != "" {
		return stateOf(h.Status)
	}
	worst := Up
	for _, c := range h.Checks {
		switch stateOf(c.Status) {
		case Down:
			return Down
		case Degraded:
			worst = Degraded
		}
	}
	return worst
}

// Summarise reads a health answer.
func Summarise(body []byte) Health {
	var raw map[string]any
	if err := json.Unmarshal(body, &raw); err != nil {
		text := strings.TrimSpace(string(body))
		lines := strings.SplitN(text, "\n", 6)
		if len(lines) > 5 {
			lines = append(lines[:5], "…")
		}
		text = strings.Join(lines, "\n")
		if len(text) > 500 {
			text = text[:500] + "…"
		}
		h := Health{Text: text}
		if len(text) < 20 && !strings.Contains(text, "\n") {
			h.Status = text // "OK", "healthy", "DOWN"
		}
		return h
	}
	h := Health{Status: str(raw["status"])}
	h.Version = firstOf(raw, "releaseId", "version", "release", "build_version")
	if b, ok := raw["build"].(map[string]any); ok && h.Version == "" {
		h.Version = str(b["version"])
	}
	for _, key := range []string{"checks", "components", "details"} {
		h.Checks = append(h.Checks, checksOf(raw[key])...)
	}
	sort.SliceStable(h.Checks, func(i, j int) bool { return h.Checks[i].Name < h.Checks[j].Name })
	return h
}

func checksOf(v any) []Check {
	var out []Check
	switch v := v.(type) {
	case map[string]any:
		for name, c := range v {
			switch c := c.(type) {
			case string:
				out = append(out, Check{Name: name, Status: c})
			case bool:
				out = append(out, Check{Name: name, Status: map[bool]string{true: "ok", false: "fail"}[c]})
			case map[string]any:
				out = append(out, Check{Name: name, Status: str(c["status"]), Detail: detailOf(c)})
			case []any: // IETF: "name": [{status, observedValue…}, …]
				for _, e := range c {
					if m, ok := e.(map[string]any); ok {
						n := name
						if id := str(m["componentId"]); id != "" {
							n += " " + id
						}
						out = append(out, Check{Name: n, Status: str(m["status"]), Detail: detailOf(m)})
					}
				}
			}
		}
	case []any:
		for _, e := range v {
			if m, ok := e.(map[string]any); ok {
				out = append(out, Check{Name: firstOf(m, "name", "component", "id"), Status: str(m["status"]), Detail: detailOf(m)})
			}
		}
	}
	return out
}

func detailOf(m map[string]any) string {
	if v, ok := m["observedValue"]; ok {
		d := str(v)
		if u := str(m["observedUnit"]); u != "" {
			d += " " + u
		}
		return d
	}
	if d := firstOf(m, "output", "message", "error", "detail"); d != "" {
		return d
	}
	if det, ok := m["details"].(map[string]any); ok { // Spring Boot
		return firstOf(det, "error", "message")
	}
	return ""
}

func firstOf(m map[string]any, keys ...string) string {
	for _, k := range keys {
		if s := str(m[k]); s != "" {
			return s
		}
	}
	return ""
}

func str(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return fmt.Sprint(v)
	}
	return ""
}
