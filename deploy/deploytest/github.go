package deploytest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// GitHub is a fake GitHub REST API for one repository, following the API
// reference's request and response shapes (fields opsbot does not read are
// mostly left out). Commits, compare and merges are answered from a real
// git repository.
type GitHub struct {
	Server *httptest.Server
	Repo   *Repo
	Name   string // "owner/name"
	Token  string

	mu          sync.Mutex
	nextID      int64
	deployments []*FakeDeployment
	statuses    map[string][]status   // by sha
	checkRuns   map[string][]checkRun // by sha
	dispatches  []Dispatch
	runs        []*WorkflowRun
	// OnDispatch, if set, is called for each workflow_dispatch (under no lock).
	OnDispatch func(d Dispatch)
	// Requests are the requests received, "METHOD path".
	Requests []string
}

// FakeDeployment is a deployment the fake holds.
type FakeDeployment struct {
	ID          int64             `json:"id"`
	SHA         string            `json:"sha"`
	Ref         string            `json:"ref"`
	Task        string            `json:"task"`
	Payload     json.RawMessage   `json:"payload"`
	Environment string            `json:"environment"`
	Description string            `json:"description"`
	Creator     map[string]string `json:"creator"`
	CreatedAt   string            `json:"created_at"`
	Statuses    []DeploymentState `json:"-"`
}

// DeploymentState is a deployment status the fake received.
type DeploymentState struct {
	State          string `json:"state"`
	Description    string `json:"description"`
	EnvironmentURL string `json:"environment_url"`
	LogURL         string `json:"log_url"`
	Environment    string `json:"environment"`
}

type status struct {
	Context string `json:"context"`
	State   string `json:"state"`
}

type checkRun struct {
	Name       string  `json:"name"`
	Status     string  `json:"status"`
	Conclusion *string `json:"conclusion"`
}

// Dispatch is a workflow_dispatch the fake received.
type Dispatch struct {
	Workflow string
	Ref      string
	Inputs   map[string]any
}

// WorkflowRun is an Actions run the fake holds.
type WorkflowRun struct {
	ID         int64  `json:"id"`
	Name       string `json:"name"`
	HeadBranch string `json:"head_branch"`
	HeadSHA    string `json:"head_sha"`
	Event      string `json:"event"`
	Status     string `json:"status"`
	Conclusion string `json:"conclusion"`
	HTMLURL    string `json:"html_url"`
	CreatedAt  string `json:"created_at"`
	WorkflowID string `json:"-"`
}

// NewGitHub starts the fake for repository name ("owner/name") backed by repo.
func NewGitHub(t testing.TB, repo *Repo, name, token string) *GitHub {
	g := &GitHub{Repo: repo, Name: name, Token: token, nextID: 1000, statuses: map[string][]status{}, checkRuns: map[string][]checkRun{}}
	g.Server = httptest.NewServer(http.HandlerFunc(g.serve))
	t.Cleanup(g.Server.Close)
	return g
}

// URL is the API's base URL.
func (g *GitHub) URL() string { return g.Server.URL }

// SetStatus sets a commit status (POST /repos/{o}/{r}/statuses/{sha}).
func (g *GitHub) SetStatus(sha, context, state string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	ss := g.statuses[sha]
	for i := range ss {
		if ss[i].Context == context {
			ss[i].State = state
			return
		}
	}
	g.statuses[sha] = append(ss, status{Context: context, State: state})
}

// SetCheckRun sets a check run on sha: status queued, in_progress or
// completed, with a conclusion when completed.
func (g *GitHub) SetCheckRun(sha, name, st, conclusion string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	cr := checkRun{Name: name, Status: st}
	if conclusion != "" {
		cr.Conclusion = &conclusion
	}
	rs := g.checkRuns[sha]
	for i := range rs {
		if rs[i].Name == name {
			rs[i] = cr
			return
		}
	}
	g.checkRuns[sha] = append(rs, cr)
}

// CreateExternal creates a deployment as another tool would (the
// deployment webhook's subject) and returns it.
func (g *GitHub) CreateExternal(ref, env, task, creator string) FakeDeployment {
	g.mu.Lock()
	defer g.mu.Unlock()
	sha, _ := g.Repo.TryGit("rev-parse", ref+"^{commit}")
	g.nextID++
	d := &FakeDeployment{ID: g.nextID, SHA: sha, Ref: ref, Task: task, Payload: json.RawMessage(`{}`), Environment: env,
		Creator: map[string]string{"login": creator}, CreatedAt: time.Now().UTC().Format(time.RFC3339)}
	g.deployments = append(g.deployments, d)
	return *d
}

// Deployments returns the deployments the fake holds, with their statuses.
func (g *GitHub) Deployments() []FakeDeployment {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]FakeDeployment, len(g.deployments))
	for i, d := range g.deployments {
		out[i] = *d
		out[i].Statuses = append([]DeploymentState(nil), d.Statuses...)
	}
	return out
}

// Dispatches returns the workflow_dispatch events received.
func (g *GitHub) Dispatches() []Dispatch {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]Dispatch(nil), g.dispatches...)
}

// AddRun adds a workflow run (as GitHub does after a dispatch).
func (g *GitHub) AddRun(workflow, branch, sha, event string) *WorkflowRun {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.nextID++
	r := &WorkflowRun{ID: g.nextID, Name: workflow, HeadBranch: branch, HeadSHA: sha, Event: event, Status: "queued",
		HTMLURL: fmt.Sprintf("%s/%s/actions/runs/%d", g.Server.URL, g.Name, g.nextID), CreatedAt: time.Now().UTC().Format(time.RFC3339), WorkflowID: workflow}
	g.runs = append(g.runs, r)
	return r
}

// SetRun changes a run's status and conclusion.
func (g *GitHub) SetRun(id int64, st, conclusion string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, r := range g.runs {
		if r.ID == id {
			r.Status, r.Conclusion = st, conclusion
		}
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func message(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"message": msg, "documentation_url": "https://docs.github.com/rest"})
}

func (g *GitHub) serve(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	g.Requests = append(g.Requests, r.Method+" "+r.URL.Path)
	g.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer "+g.Token && r.Header.Get("Authorization") != "token "+g.Token {
		message(w, http.StatusUnauthorized, "Bad credentials")
		return
	}
	prefix := "/repos/" + g.Name + "/"
	if !strings.HasPrefix(r.URL.Path, prefix) {
		message(w, http.StatusNotFound, "Not Found")
		return
	}
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, prefix), "/")
	route := r.Method + " " + parts[0]
	switch {
	case route == "POST deployments" && len(parts) == 1:
		g.createDeployment(w, r)
	case route == "GET deployments" && len(parts) == 2:
		g.getDeployment(w, parts[1])
	case route == "POST deployments" && len(parts) == 3 && parts[2] == "statuses":
		g.createDeploymentStatus(w, r, parts[1])
	case route == "GET commits" && len(parts) == 3 && parts[2] == "status":
		g.combinedStatus(w, parts[1])
	case route == "GET commits" && len(parts) == 3 && parts[2] == "check-runs":
		g.checkRunsFor(w, parts[1])
	case route == "GET commits" && len(parts) == 2:
		g.commit(w, parts[1])
	case route == "GET compare" && len(parts) >= 2:
		g.compare(w, strings.Join(parts[1:], "/"))
	case route == "POST merges":
		g.merge(w, r)
	case route == "POST actions" && len(parts) == 4 && parts[1] == "workflows" && parts[3] == "dispatches":
		g.dispatch(w, r, parts[2])
	case route == "GET actions" && len(parts) == 4 && parts[1] == "workflows" && parts[3] == "runs":
		g.listRuns(w, r, parts[2])
	case route == "GET actions" && len(parts) == 3 && parts[1] == "runs":
		g.getRun(w, parts[2])
	default:
		message(w, http.StatusNotFound, "Not Found")
	}
}

func (g *GitHub) createDeployment(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Ref              string          `json:"ref"`
		Task             string          `json:"task"`
		AutoMerge        *bool           `json:"auto_merge"`
		RequiredContexts *[]string       `json:"required_contexts"`
		Payload          json.RawMessage `json:"payload"`
		Environment      string          `json:"environment"`
		Description      string          `json:"description"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Ref == "" {
		message(w, http.StatusUnprocessableEntity, "Invalid request.\n\n\"ref\" wasn't supplied.")
		return
	}
	sha, err := g.Repo.TryGit("rev-parse", "--verify", "--quiet", body.Ref+"^{commit}")
	if err != nil {
		message(w, http.StatusUnprocessableEntity, "No ref found for: "+body.Ref)
		return
	}
	if body.Task == "" {
		body.Task = "deploy"
	}
	if body.Environment == "" {
		body.Environment = "production"
	}
	if len(body.Payload) == 0 {
		body.Payload = json.RawMessage(`{}`)
	}
	g.mu.Lock()
	g.nextID++
	d := &FakeDeployment{ID: g.nextID, SHA: sha, Ref: body.Ref, Task: body.Task, Payload: body.Payload, Environment: body.Environment,
		Description: body.Description, Creator: map[string]string{"login": "opsbot[bot]"}, CreatedAt: time.Now().UTC().Format(time.RFC3339)}
	g.deployments = append(g.deployments, d)
	g.mu.Unlock()
	writeJSON(w, http.StatusCreated, d)
}

func (g *GitHub) find(id string) *FakeDeployment {
	n, _ := strconv.ParseInt(id, 10, 64)
	for _, d := range g.deployments {
		if d.ID == n {
			return d
		}
	}
	return nil
}

func (g *GitHub) getDeployment(w http.ResponseWriter, id string) {
	g.mu.Lock()
	d := g.find(id)
	var cp FakeDeployment
	if d != nil {
		cp = *d
	}
	g.mu.Unlock()
	if d == nil {
		message(w, http.StatusNotFound, "Not Found")
		return
	}
	writeJSON(w, http.StatusOK, cp)
}

var deploymentStates = map[string]bool{"error": true, "failure": true, "inactive": true, "in_progress": true, "queued": true, "pending": true, "success": true}

func (g *GitHub) createDeploymentStatus(w http.ResponseWriter, r *http.Request, id string) {
	var s DeploymentState
	if err := json.NewDecoder(r.Body).Decode(&s); err != nil || !deploymentStates[s.State] {
		message(w, http.StatusUnprocessableEntity, "Validation Failed")
		return
	}
	if len(s.Description) > 140 {
		message(w, http.StatusUnprocessableEntity, "Validation Failed: description is too long (maximum is 140 characters)")
		return
	}
	g.mu.Lock()
	d := g.find(id)
	if d != nil {
		d.Statuses = append(d.Statuses, s)
	}
	g.mu.Unlock()
	if d == nil {
		message(w, http.StatusNotFound, "Not Found")
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"id": time.Now().UnixNano(), "state": s.State, "description": s.Description,
		"environment": s.Environment, "environment_url": s.EnvironmentURL, "log_url": s.LogURL})
}

func (g *GitHub) resolve(ref string) (string, bool) {
	sha, err := g.Repo.TryGit("rev-parse", "--verify", "--quiet", ref+"^{commit}")
	return sha, err == nil
}

func (g *GitHub) combinedStatus(w http.ResponseWriter, ref string) {
	sha, ok := g.resolve(ref)
	if !ok {
		message(w, http.StatusUnprocessableEntity, "No commit found for SHA: "+ref)
		return
	}
	g.mu.Lock()
	ss := append([]status(nil), g.statuses[sha]...)
	g.mu.Unlock()
	state := "success"
	if len(ss) == 0 {
		state = "pending"
	}
	for _, s := range ss {
		switch {
		case s.State == "failure" || s.State == "error":
			state = "failure"
		case s.State == "pending" && state != "failure":
			state = "pending"
		}
	}
	if ss == nil {
		ss = []status{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"state": state, "sha": sha, "total_count": len(ss), "statuses": ss})
}

func (g *GitHub) checkRunsFor(w http.ResponseWriter, ref string) {
	sha, ok := g.resolve(ref)
	if !ok {
		message(w, http.StatusUnprocessableEntity, "No commit found for SHA: "+ref)
		return
	}
	g.mu.Lock()
	rs := append([]checkRun(nil), g.checkRuns[sha]...)
	g.mu.Unlock()
	if rs == nil {
		rs = []checkRun{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"total_count": len(rs), "check_runs": rs})
}

// commitJSON is a commit as the REST API shows one.
func (g *GitHub) commitJSON(sha string) map[string]any {
	out, _ := g.Repo.TryGit("show", "-s", "--format=%an%x1f%ae%x1f%B%x1f%P", sha)
	f := strings.SplitN(out, "\x1f", 4)
	for len(f) < 4 {
		f = append(f, "")
	}
	var parents []map[string]string
	for _, p := range strings.Fields(f[3]) {
		parents = append(parents, map[string]string{"sha": p})
	}
	login := strings.SplitN(f[1], "@", 2)[0]
	return map[string]any{
		"sha":     sha,
		"commit":  map[string]any{"author": map[string]string{"name": f[0], "email": f[1]}, "message": strings.TrimSpace(f[2])},
		"author":  map[string]string{"login": login},
		"parents": parents,
	}
}

func (g *GitHub) commit(w http.ResponseWriter, ref string) {
	sha, ok := g.resolve(ref)
	if !ok {
		message(w, http.StatusUnprocessableEntity, "No commit found for SHA: "+ref)
		return
	}
	writeJSON(w, http.StatusOK, g.commitJSON(sha))
}

func (g *GitHub) compare(w http.ResponseWriter, basehead string) {
	base, head, ok := strings.Cut(basehead, "...")
	if !ok {
		message(w, http.StatusNotFound, "Not Found")
		return
	}
	bs, ok1 := g.resolve(base)
	hs, ok2 := g.resolve(head)
	if !ok1 || !ok2 {
		message(w, http.StatusNotFound, "Not Found")
		return
	}
	list := func(rng string) []string {
		out, _ := g.Repo.TryGit("rev-list", "--reverse", rng)
		return strings.Fields(out)
	}
	ahead, behind := list(bs+".."+hs), list(hs+".."+bs)
	st := "identical"
	switch {
	case len(ahead) > 0 && len(behind) > 0:
		st = "diverged"
	case len(ahead) > 0:
		st = "ahead"
	case len(behind) > 0:
		st = "behind"
	}
	commits := []map[string]any{}
	for _, s := range ahead {
		commits = append(commits, g.commitJSON(s))
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": st, "ahead_by": len(ahead), "behind_by": len(behind), "total_commits": len(ahead), "commits": commits})
}

func (g *GitHub) merge(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Base          string `json:"base"`
		Head          string `json:"head"`
		CommitMessage string `json:"commit_message"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Base == "" || body.Head == "" {
		message(w, http.StatusUnprocessableEntity, "Validation Failed")
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.resolve(body.Base); !ok {
		message(w, http.StatusNotFound, "Base does not exist")
		return
	}
	hs, ok := g.resolve(body.Head)
	if !ok {
		message(w, http.StatusNotFound, "Head does not exist")
		return
	}
	if _, err := g.Repo.TryGit("merge-base", "--is-ancestor", hs, body.Base); err == nil {
		w.WriteHeader(http.StatusNoContent) // nothing to merge
		return
	}
	cur, _ := g.Repo.TryGit("rev-parse", "--abbrev-ref", "HEAD")
	defer g.Repo.TryGit("checkout", "--quiet", cur)
	if out, err := g.Repo.TryGit("checkout", "--quiet", body.Base); err != nil {
		message(w, http.StatusInternalServerError, out)
		return
	}
	msg := body.CommitMessage
	if msg == "" {
		msg = "Merge " + body.Head + " into " + body.Base
	}
	if _, err := g.Repo.TryGit("-c", "user.name=GitHub", "-c", "user.email=noreply@github.invalid", "merge", "--no-ff", "--quiet", "-m", msg, hs); err != nil {
		_, _ = g.Repo.TryGit("merge", "--abort")
		message(w, http.StatusConflict, "Merge conflict")
		return
	}
	sha, _ := g.resolve("HEAD")
	writeJSON(w, http.StatusCreated, g.commitJSON(sha))
}

func (g *GitHub) dispatch(w http.ResponseWriter, r *http.Request, workflow string) {
	var body struct {
		Ref    string         `json:"ref"`
		Inputs map[string]any `json:"inputs"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Ref == "" {
		message(w, http.StatusUnprocessableEntity, "Invalid request.\n\n\"ref\" wasn't supplied.")
		return
	}
	if _, ok := g.resolve(body.Ref); !ok {
		message(w, http.StatusUnprocessableEntity, "No ref found for: "+body.Ref)
		return
	}
	d := Dispatch{Workflow: workflow, Ref: body.Ref, Inputs: body.Inputs}
	g.mu.Lock()
	g.dispatches = append(g.dispatches, d)
	hook := g.OnDispatch
	g.mu.Unlock()
	if hook != nil {
		hook(d)
	}
	w.WriteHeader(http.StatusNoContent)
}

func (g *GitHub) listRuns(w http.ResponseWriter, r *http.Request, workflow string) {
	q := r.URL.Query()
	g.mu.Lock()
	var out []WorkflowRun
	for i := len(g.runs) - 1; i >= 0; i-- { // newest first
		run := g.runs[i]
		if run.WorkflowID != workflow || q.Get("branch") != "" && run.HeadBranch != q.Get("branch") || q.Get("event") != "" && run.Event != q.Get("event") {
			continue
		}
		out = append(out, *run)
	}
	g.mu.Unlock()
	if out == nil {
		out = []WorkflowRun{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"total_count": len(out), "workflow_runs": out})
}

func (g *GitHub) getRun(w http.ResponseWriter, id string) {
	n, _ := strconv.ParseInt(id, 10, 64)
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, r := range g.runs {
		if r.ID == n {
			writeJSON(w, http.StatusOK, r)
			return
		}
	}
	message(w, http.StatusNotFound, "Not Found")
}
