package deploy

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/command"
	"github.com/opsbot/opsbot/deploy"
	"github.com/opsbot/opsbot/httpapi"
	"github.com/opsbot/opsbot/store"
)

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func apiError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

// apiList is GET /api/v1/deployments?app=&environment=&status=&before=&limit=.
func (m *Module) apiList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := deploy.Filter{App: q.Get("app"), Env: q.Get("environment"), Status: q.Get("status"), Ref: q.Get("ref")}
	for _, p := range []struct {
		name string
		dst  *int64
	}{{"before", &f.Before}} {
		if v := q.Get(p.name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				apiError(w, http.StatusBadRequest, p.name+": not a deployment id")
				return
			}
			*p.dst = n
		}
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			apiError(w, http.StatusBadRequest, "limit: a number from 1 to 500")
			return
		}
		f.Limit = n
	}
	if f.Status != "" && !contains([]string{deploy.StatusPending, deploy.StatusRunning, deploy.StatusSuccess, deploy.StatusFailure,
		deploy.StatusError, deploy.StatusCancelled, deploy.StatusInterrupted}, f.Status) {
		apiError(w, http.StatusBadRequest, "status: not one of pending, running, success, failure, error, cancelled, interrupted")
		return
	}
	ds, err := m.records.List(r.Context(), f)
	if err != nil {
		m.log.Error("list deployments", "err", err)
		apiError(w, http.StatusInternalServerError, "could not list deployments")
		return
	}
	if ds == nil {
		ds = []deploy.Deployment{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"deployments": ds})
}

// apiGet is GET /api/v1/deployments/{id}: the record and its log.
func (m *Module) apiGet(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(strings.TrimPrefix(r.PathValue("id"), "#"), 10, 64)
	if err != nil {
		apiError(w, http.StatusBadRequest, "id: not a deployment id")
		return
	}
	d, err := m.records.Get(r.Context(), id)
	if errors.Is(err, deploy.ErrNotFound) {
		apiError(w, http.StatusNotFound, "no deployment #"+strconv.FormatInt(id, 10))
		return
	}
	if err != nil {
		apiError(w, http.StatusInternalServerError, "could not read the deployment")
		return
	}
	log := ""
	if d.JobID != 0 {
		if b, err := m.st.JobLog(r.Context(), d.JobID); err == nil {
			log = string(b)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"deployment": d, "log": log})
}

// createRequest is POST /api/v1/deployments's body.
type createRequest struct {
	App         string `json:"app"`
	Environment string `json:"environment"`
	Ref         string `json:"ref"`
	Task        string `json:"task"`
	Hosts       string `json:"hosts"`
	Force       bool   `json:"force"`
	// User is the opsbot user the deployment is made as: their
	// permissions apply, as in chat. A token bound to a user (`opsbot token
	// create --user`) deploys as that user and this may be left out; naming
	// another user takes an admin token.
	User string `json:"user"`
	// Room is where to announce it ("adapter:id"; default: the app's room).
	Room string `json:"room"`
}

// apiCreate is POST /api/v1/deployments: the same checks as chat.
func (m *Module) apiCreate(w http.ResponseWriter, r *http.Request) {
	var req createRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		apiError(w, http.StatusBadRequest, "malformed body: "+err.Error())
		return
	}
	tok, _ := httpapi.TokenFrom(r.Context())
	switch {
	case req.App == "":
		apiError(w, http.StatusBadRequest, "app: required")
		return
	case tok.User != "" && req.User == "":
		req.User = tok.User
	case req.User == "":
		apiError(w, http.StatusBadRequest, "user: required (the opsbot user deploying), or a token bound to a user (opsbot token create --user NAME)")
		return
	case req.User != tok.User && !httpapi.HasScope(tok.Scopes, "admin"):
		who := "acts as nobody"
		if tok.User != "" {
			who = "acts as " + strconv.Quote(tok.User)
		}
		apiError(w, http.StatusForbidden, "user: this token "+who+"; deploying as "+strconv.Quote(req.User)+" takes a token bound to that user or an admin token")
		return
	}
	if _, ok := m.app(req.App); !ok {
		apiError(w, http.StatusBadRequest, "app: no app "+strconv.Quote(req.App))
		return
	}
	if req.Task != "" && req.Task != "deploy" && !strings.HasPrefix(req.Task, "deploy:") {
		req.Task = "deploy:" + req.Task
	}
	ctx := r.Context()
	u, err := m.st.UserByName(ctx, req.User)
	if errors.Is(err, store.ErrNotFound) {
		apiError(w, http.StatusBadRequest, "user: no opsbot user "+strconv.Quote(req.User))
		return
	}
	if err != nil {
		apiError(w, http.StatusInternalServerError, "could not read the user")
		return
	}
	groups, err := m.st.GroupsOf(ctx, u.ID)
	if err != nil {
		apiError(w, http.StatusInternalServerError, "could not read the user")
		return
	}
	var room chat.Room
	if req.Room != "" {
		room = m.resolveRoom(req.Room)
	}
	p := command.Principal{UserID: u.ID, Name: u.Name, Groups: groups, Identity: chat.Identity{Adapter: "api", ID: u.Name, Name: u.Name}}
	d, err := m.begin(ctx, startReq{
		App: req.App, Env: req.Environment, Ref: req.Ref, Task: req.Task, Hosts: req.Hosts, Forced: req.Force,
		User: p, Room: room, Source: "api", CheckPermission: true,
	})
	var ref *refusal
	switch {
	case errors.As(err, &ref) && strings.Contains(ref.msg, "needs the permission"):
		apiError(w, http.StatusForbidden, ref.msg)
	case errors.As(err, &ref) && strings.Contains(ref.msg, "already deploying"):
		apiError(w, http.StatusConflict, ref.msg)
	case errors.As(err, &ref):
		apiError(w, http.StatusUnprocessableEntity, ref.msg)
	case err != nil:
		m.log.Error("create deployment", "err", err)
		apiError(w, http.StatusInternalServerError, "could not create the deployment")
	default:
		writeJSON(w, http.StatusCreated, map[string]any{"deployment": d})
	}
}
