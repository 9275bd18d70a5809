package web

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/opsbot/opsbot/deploy"
)

// The deployments pages: the list (filter by app, environment, status) and
// one deployment with its log, followed live while it runs
// (static/deployments.js polls /deployments/{id}/log).

var deployStatuses = []string{"", deploy.StatusPending, deploy.StatusRunning, deploy.StatusSuccess, deploy.StatusFailure,
	deploy.StatusError, deploy.StatusCancelled, deploy.StatusInterrupted}

type deploymentsData struct {
	App, Env, Status string
	Statuses         []string
	Deployments      []deploy.Deployment
	Next             string
}

func (m *Module) handleDeployments(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d := deploymentsData{App: q.Get("app"), Env: q.Get("environment"), Status: q.Get("status"), Statuses: deployStatuses}
	f := deploy.Filter{App: d.App, Env: d.Env, Status: d.Status, Limit: 50}
	if !knownDeployStatus(d.Status) {
		m.fail(w, r, http.StatusBadRequest, "status: one of pending, running, success, failure, error, cancelled, interrupted")
		return
	}
	if v := q.Get("before"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			m.fail(w, r, http.StatusBadRequest, "before: a deployment number")
			return
		}
		f.Before = n
	}
	ds, err := deploy.NewRecords(m.st.DB()).List(r.Context(), f)
	if err != nil {
		m.log.Error("list deployments", "err", err)
		m.fail(w, r, http.StatusInternalServerError, "could not list deployments")
		return
	}
	d.Deployments = ds
	if len(ds) == f.Limit {
		next := q
		next.Set("before", strconv.FormatInt(ds[len(ds)-1].ID, 10))
		d.Next = "/deployments?" + next.Encode()
	}
	m.pages.render(w, http.StatusOK, "deployments", view{Title: "Deployments", Session: sessionFrom(r.Context()), Nav: "deployments", Data: d})
}

type deploymentData struct {
	D   deploy.Deployment
	Log string
}

func (m *Module) deployment(w http.ResponseWriter, r *http.Request) (deploymentData, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		m.fail(w, r, http.StatusBadRequest, "deployment: a number")
		return deploymentData{}, false
	}
	d, err := deploy.NewRecords(m.st.DB()).Get(r.Context(), id)
	if errors.Is(err, deploy.ErrNotFound) {
		m.fail(w, r, http.StatusNotFound, "no deployment #"+r.PathValue("id"))
		return deploymentData{}, false
	}
	if err != nil {
		m.log.Error("read deployment", "err", err)
		m.fail(w, r, http.StatusInternalServerError, "could not read the deployment")
		return deploymentData{}, false
	}
	out := deploymentData{D: d}
	if d.JobID != 0 {
		if b, err := m.st.JobLog(r.Context(), d.JobID); err == nil {
			out.Log = string(b)
		}
	}
	return out, true
}

func (m *Module) handleDeployment(w http.ResponseWriter, r *http.Request) {
	d, ok := m.deployment(w, r)
	if !ok {
		return
	}
	m.pages.render(w, http.StatusOK, "deployment", view{Title: "Deployment #" + strconv.FormatInt(d.D.ID, 10), Session: sessionFrom(r.Context()), Nav: "deployments", Data: d})
}

// handleDeploymentLog is the live log: {"status": "...", "log": "..."}.
func (m *Module) handleDeploymentLog(w http.ResponseWriter, r *http.Request) {
	d, ok := m.deployment(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": d.D.Status, "final": deploy.Final(d.D.Status), "log": d.Log})
}

func knownDeployStatus(s string) bool {
	for _, x := range deployStatuses {
		if x == s {
			return true
		}
	}
	return false
}
