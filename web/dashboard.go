package web

import (
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"time"

	"github.com/opsbot/opsbot/httpapi"
	"github.com/opsbot/opsbot/store"
)

const auditPage = 50
const timeInput = "2006-01-02T15:04"

type auditData struct {
	F        store.AuditFilter
	Q        string
	From, To string
	Entries  []store.AuditEntry
	Next     string
}

// handleAudit serves GET /audit?user=&command=&q=&from=&to=&before= (times
// as datetime-local values, UTC).
func (m *Module) handleAudit(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d := auditData{F: store.AuditFilter{User: q.Get("user"), Command: q.Get("command"), Text: q.Get("q"), Limit: auditPage},
		Q: q.Get("q"), From: q.Get("from"), To: q.Get("to")}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"from", &d.F.Since}, {"to", &d.F.Until}} {
		if v := q.Get(p.name); v != "" {
			t, err := time.ParseInLocation(timeInput, v, time.UTC)
			if err != nil {
				m.fail(w, r, http.StatusBadRequest, p.name+": a time like 2026-01-31T14:05")
				return
			}
			*p.dst = t
		}
	}
	if v := q.Get("before"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			m.fail(w, r, http.StatusBadRequest, "before: an entry ID")
			return
		}
		d.F.Before = n
	}
	entries, err := m.st.QueryAudit(r.Context(), d.F)
	if err != nil {
		m.log.Error("audit query", "err", err)
		m.fail(w, r, http.StatusInternalServerError, "audit query failed")
		return
	}
	d.Entries = entries
	if len(entries) == auditPage {
		next := url.Values{}
		for k, v := range q {
			next[k] = v
		}
		next.Set("before", strconv.FormatInt(entries[len(entries)-1].ID, 10))
		d.Next = "/audit?" + next.Encode()
	}
	m.pages.render(w, http.StatusOK, "audit", view{Title: "Audit", Session: sessionFrom(r.Context()), Nav: "audit", Data: d})
}

var jobTabs = map[string][]string{
	"running":  {"queued", "running"},
	"finished": {"succeeded"},
	"failed":   {"failed", "cancelled", "timeout", "interrupted"},
	"all":      nil,
}

type jobsData struct {
	State string
	Tabs  []string
	Jobs  []store.Job
}

func (m *Module) handleJobs(w http.ResponseWriter, r *http.Request) {
	state := r.URL.Query().Get("state")
	if state == "" {
		state = "all"
	}
	states, ok := jobTabs[state]
	if !ok {
		m.fail(w, r, http.StatusBadRequest, "state: one of running, finished, failed, all")
		return
	}
	jobs, err := m.st.ListJobs(r.Context(), store.JobFilter{States: states, Limit: 100})
	if err != nil {
		m.log.Error("list jobs", "err", err)
		m.fail(w, r, http.StatusInternalServerError, "could not list jobs")
		return
	}
	m.pages.render(w, http.StatusOK, "jobs", view{Title: "Jobs", Session: sessionFrom(r.Context()), Nav: "jobs",
		Data: jobsData{State: state, Tabs: []string{"all", "running", "finished", "failed"}, Jobs: jobs}})
}

type jobData struct {
	Job store.Job
	Log string
}

func (m *Module) handleJob(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		m.fail(w, r, http.StatusBadRequest, "job: an ID")
		return
	}
	j, err := m.st.Job(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		m.fail(w, r, http.StatusNotFound, "no job "+r.PathValue("id"))
		return
	}
	if err != nil {
		m.fail(w, r, http.StatusInternalServerError, "could not read the job")
		return
	}
	log, err := m.st.JobLog(r.Context(), id)
	if err != nil {
		m.fail(w, r, http.StatusInternalServerError, "could not read the job's log")
		return
	}
	m.pages.render(w, http.StatusOK, "job", view{Title: "Job " + r.PathValue("id"), Session: sessionFrom(r.Context()), Nav: "jobs",
		Data: jobData{Job: j, Log: string(log)}})
}

type userRow struct {
	Name       string
	Groups     []string
	Identities []string
	Password   bool
	Created    time.Time
}

type groupRow struct {
	Name    string
	Members []string
}

func (m *Module) handleUsers(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	users, err := m.st.ListUsers(ctx)
	if err != nil {
		m.fail(w, r, http.StatusInternalServerError, "could not list users")
		return
	}
	groups := map[string][]string{}
	rows := make([]userRow, 0, len(users))
	for _, u := range users {
		gs, err := m.st.GroupsOf(ctx, u.ID)
		if err != nil {
			m.fail(w, r, http.StatusInternalServerError, "could not list groups")
			return
		}
		ids, err := m.st.IdentitiesOf(ctx, u.ID)
		if err != nil {
			m.fail(w, r, http.StatusInternalServerError, "could not list identities")
			return
		}
		row := userRow{Name: u.Name, Groups: gs, Password: u.PasswordHash != "", Created: u.Created}
		for _, id := range ids {
			row.Identities = append(row.Identities, id.Adapter+":"+id.ChatID)
		}
		for _, g := range gs {
			groups[g] = append(groups[g], u.Name)
		}
		rows = append(rows, row)
	}
	var gr []groupRow
	for g, ms := range groups {
		gr = append(gr, groupRow{g, ms})
	}
	sort.Slice(gr, func(i, j int) bool { return gr[i].Name < gr[j].Name })
	m.pages.render(w, http.StatusOK, "users", view{Title: "Users", Session: sessionFrom(ctx), Nav: "users",
		Data: struct {
			Users  []userRow
			Groups []groupRow
		}{rows, gr}})
}

type newToken struct{ Name, Token string }

type tokensData struct {
	Tokens []store.Token
	Scopes []string
	New    *newToken
}

func (m *Module) tokensPage(w http.ResponseWriter, r *http.Request, code int, created *newToken, msg string) {
	toks, err := m.st.ListTokens(r.Context())
	if err != nil {
		m.fail(w, r, http.StatusInternalServerError, "could not list tokens")
		return
	}
	m.pages.render(w, code, "tokens", view{Title: "API tokens", Session: sessionFrom(r.Context()), Nav: "tokens", Error: msg,
		Data: tokensData{Tokens: toks, Scopes: httpapi.Scopes, New: created}})
}

func (m *Module) handleTokens(w http.ResponseWriter, r *http.Request) {
	m.tokensPage(w, r, http.StatusOK, nil, "")
}

var tokenName = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

func (m *Module) handleCreateToken(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	name := r.PostFormValue("name")
	if !tokenName.MatchString(name) {
		m.tokensPage(w, r, http.StatusBadRequest, nil, "name: 1 to 64 of A-Z, a-z, 0-9, _ . -")
		return
	}
	scopes := r.PostForm["scope"]
	if len(scopes) == 0 {
		m.tokensPage(w, r, http.StatusBadRequest, nil, "scope: choose at least one")
		return
	}
	for _, s := range scopes {
		if !httpapi.ValidScope(s) {
			m.tokensPage(w, r, http.StatusBadRequest, nil, "scope: unknown scope "+s)
			return
		}
	}
	raw, hash, err := httpapi.NewToken()
	if err != nil {
		m.fail(w, r, http.StatusInternalServerError, "could not create a token")
		return
	}
	if _, err := m.st.CreateToken(r.Context(), store.Token{Name: name, Hash: hash, Scopes: scopes, Created: m.clk.Now()}); err != nil {
		if errors.Is(err, store.ErrExists) {
			m.tokensPage(w, r, http.StatusConflict, nil, "name: a token named "+name+" exists")
			return
		}
		m.fail(w, r, http.StatusInternalServerError, "could not store the token")
		return
	}
	m.log.Info("token created", "name", name, "scopes", scopes, "by", sessionFrom(r.Context()).User.Name)
	m.tokensPage(w, r, http.StatusOK, &newToken{Name: name, Token: raw}, "")
}

func (m *Module) handleRevokeToken(w http.ResponseWriter, r *http.Request) {
	name := r.PostFormValue("name")
	err := m.st.RevokeToken(r.Context(), name)
	if errors.Is(err, store.ErrNotFound) {
		m.tokensPage(w, r, http.StatusNotFound, nil, "name: no token named "+name)
		return
	}
	if err != nil {
		m.fail(w, r, http.StatusInternalServerError, "could not revoke the token")
		return
	}
	m.log.Info("token revoked", "name", name, "by", sessionFrom(r.Context()).User.Name)
	http.Redirect(w, r, "/tokens", http.StatusSeeOther)
}
