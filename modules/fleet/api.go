package fleet

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	fl "github.com/opsbot/opsbot/fleet"
)

// apiInstance is one instance in GET /api/v1/instances.
type apiInstance struct {
	Name    string   `json:"name"`
	Aliases []string `json:"aliases,omitempty"`
	Icon    string   `json:"icon,omitempty"`
	Env     string   `json:"env,omitempty"`
	App     string   `json:"app,omitempty"`
	Role    string   `json:"role,omitempty"`
	Serving bool     `json:"serving,omitempty"`
	// Active is whether it takes traffic; null when that cannot be read.
	Active      *bool  `json:"active"`
	ActiveError string `json:"active_error,omitempty"`
	// State is the health: as the periodic check last announced it, or
	// checked now with ?check=true.
	State     fl.State   `json:"state"`
	Detail    string     `json:"detail,omitempty"`
	Version   string     `json:"version,omitempty"`
	LatencyMS *int64     `json:"latency_ms,omitempty"`
	Since     *time.Time `json:"since,omitempty"`
}

// apiApp is one blue-green app.
type apiApp struct {
	App       string     `json:"app"`
	Colours   []string   `json:"colours"`
	Active    string     `json:"active,omitempty"`
	Error     string     `json:"error,omitempty"`
	Source    string     `json:"source"` // "opsbot" (kept here) or "url" / "argv"
	Previous  string     `json:"previous,omitempty"`
	ChangedBy string     `json:"changed_by,omitempty"`
	ChangedAt *time.Time `json:"changed_at,omitempty"`
}

// apiHandler serves GET /api/v1/instances[?env=E][&app=A][&check=true].
func (m *Module) apiHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		for k := range q {
			if k != "env" && k != "app" && k != "check" {
				writeError(w, http.StatusBadRequest, k+": unknown parameter (env, app, check)")
				return
			}
		}
		env, app := strings.ToLower(q.Get("env")), strings.ToLower(q.Get("app"))
		if env != "" && !slices.Contains(m.fleet.Envs(), env) {
			writeError(w, http.StatusBadRequest, "env: "+strconv.Quote(env)+" is not an environment of any instance")
			return
		}
		if app != "" && !slices.ContainsFunc(m.fleet.Instances(), func(in fl.Instance) bool { return strings.EqualFold(in.App, app) }) {
			writeError(w, http.StatusBadRequest, "app: "+strconv.Quote(app)+" is not the app of any instance")
			return
		}
		check := false
		if v := q.Get("check"); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				writeError(w, http.StatusBadRequest, "check: "+strconv.Quote(v)+" is not true or false")
				return
			}
			check = b
		}
		ctx := r.Context()
		var rows []fl.Row
		if check {
			rep, err := m.fleet.Platform(ctx, env)
			if err != nil {
				writeError(w, http.StatusBadRequest, "env: "+err.Error())
				return
			}
			rows = rep.Rows
		} else {
			known, err := m.fleet.Store().Announcements(ctx)
			if err != nil {
				m.log.Error("instances API", "err", err)
				writeError(w, http.StatusServiceUnavailable, "could not read the instances' state; retry")
				return
			}
			for _, in := range m.fleet.Instances() {
				if env != "" && !strings.EqualFold(in.Env, env) {
					continue
				}
				a := known[in.Name]
				st := fl.Status{Instance: in.Name, State: a.State, Detail: a.Detail, Version: a.Version, At: a.ChangedAt}
				if st.State == "" {
					st.State = fl.Unknown
				}
				row := fl.Row{Instance: in, Status: st}
				act, aerr := m.fleet.IsActive(ctx, in)
				row.Active = act
				if aerr != nil {
					row.ActiveErr = aerr.Error()
				}
				rows = append(rows, row)
			}
		}
		out := struct {
			Instances []apiInstance `json:"instances"`
			Apps      []apiApp      `json:"apps"`
		}{Instances: []apiInstance{}, Apps: []apiApp{}}
		for _, row := range rows {
			in := row.Instance
			if app != "" && !strings.EqualFold(in.App, app) {
				continue
			}
			ai := apiInstance{Name: in.Name, Aliases: in.Aliases, Icon: in.Icon, Env: in.Env, App: in.App, Role: in.Role, Serving: in.Serving,
				State: row.Status.State, Detail: row.Status.Detail, Version: row.Status.Version, ActiveError: row.ActiveErr}
			if row.ActiveErr == "" {
				ai.Active = &row.Active
			}
			if check {
				ms := row.Status.Latency.Milliseconds()
				ai.LatencyMS = &ms
			} else if !row.Status.At.IsZero() {
				t := row.Status.At
				ai.Since = &t
			}
			out.Instances = append(out.Instances, ai)
		}
		for _, name := range m.fleet.Apps() {
			if app != "" && name != app {
				continue
			}
			aa := apiApp{App: name, Colours: m.fleet.Roles(name), Source: "opsbot"}
			if src := m.fleet.Config().Apps[name]; src != nil && src.Active != nil {
				aa.Source = "url"
				if src.Active.URL == "" {
					aa.Source = "argv"
				}
			}
			if c, err := m.fleet.ActiveColour(ctx, name); err != nil {
				aa.Error = err.Error()
			} else {
				aa.Active = c
			}
			if rec, ok, err := m.fleet.Store().Active(ctx, name); err == nil && ok {
				aa.Previous, aa.ChangedBy = rec.Previous, rec.ChangedBy
				t := rec.ChangedAt
				aa.ChangedAt = &t
			}
			out.Apps = append(out.Apps, aa)
		}
		writeJSON(w, http.StatusOK, out)
	})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}
