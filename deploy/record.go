package deploy

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// The statuses of a deployment: pending → running → one of the final ones.
const (
	StatusPending     = "pending"
	StatusRunning     = "running"
	StatusSuccess     = "success"
	StatusFailure     = "failure"
	StatusError       = "error"
	StatusCancelled   = "cancelled"
	StatusInterrupted = "interrupted"
)

// Final reports whether status is a final one.
func Final(status string) bool { return status != StatusPending && status != StatusRunning }

// Deployment is one deployment's record.
type Deployment struct {
	ID          int64     `json:"id"`
	App         string    `json:"app"`
	Env         string    `json:"environment"`
	Ref         string    `json:"ref"`
	SHA         string    `json:"sha"`
	Task        string    `json:"task"`
	Hosts       string    `json:"hosts,omitempty"`
	User        string    `json:"user"`
	Source      string    `json:"source"` // chat, api, github, auto, nag, retry
	Room        string    `json:"room,omitempty"`
	ThreadRef   string    `json:"-"`
	Provider    string    `json:"provider"`
	Status      string    `json:"status"`
	Forced      bool      `json:"forced"`
	PreviousSHA string    `json:"previous_sha,omitempty"`
	JobID       int64     `json:"job_id,omitempty"`
	GitHubID    int64     `json:"github_id,omitempty"`
	Description string    `json:"description,omitempty"`
	Created     time.Time `json:"created"`
	Started     time.Time `json:"started,omitzero"`
	Finished    time.Time `json:"finished,omitzero"`
}

// Duration is how long it ran (until now while it runs).
func (d Deployment) Duration(now time.Time) time.Duration {
	if d.Started.IsZero() {
		return 0
	}
	if d.Finished.IsZero() {
		return now.Sub(d.Started)
	}
	return d.Finished.Sub(d.Started)
}

// Busy is the error of Create when the app and environment already have a
// deployment under way.
type Busy struct{ Active Deployment }

func (b *Busy) Error() string {
	return fmt.Sprintf("%s is already deploying to %s (#%d)", b.Active.App, b.Active.Env, b.Active.ID)
}

// ErrNotFound is returned for a deployment that does not exist.
var ErrNotFound = errors.New("no such deployment")

// Records keeps deployments in the store's database (migration 00060).
type Records struct{ db *sql.DB }

// NewRecords returns the records kept in db.
func NewRecords(db *sql.DB) *Records { return &Records{db: db} }

const cols = `id, app, env, ref, sha, task, hosts, user_name, source, room, thread_ref, provider, status, forced,
	previous_sha, job_id, github_id, description, created, started, finished`

func scan(row interface{ Scan(...any) error }) (Deployment, error) {
	var d Deployment
	var created, started, finished int64
	err := row.Scan(&d.ID, &d.App, &d.Env, &d.Ref, &d.SHA, &d.Task, &d.Hosts, &d.User, &d.Source, &d.Room, &d.ThreadRef,
		&d.Provider, &d.Status, &d.Forced, &d.PreviousSHA, &d.JobID, &d.GitHubID, &d.Description, &created, &started, &finished)
	d.Created, d.Started, d.Finished = fromMillis(created), fromMillis(started), fromMillis(finished)
	return d, err
}

func fromMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

func millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// Create stores d as pending and takes the app and environment's slot, in
// one transaction: while another deployment of them is under way it
// returns a *Busy naming it.
func (r *Records) Create(ctx context.Context, d Deployment) (Deployment, error) {
	tx, err := r.db.BeginTx(ctx, nil)
	if err != nil {
		return d, fmt.Errorf("create deployment: %w", err)
	}
	defer tx.Rollback()
	var activeID int64
	err = tx.QueryRowContext(ctx, `SELECT deployment_id FROM deploy_active WHERE app = $1 AND env = $2`, d.App, d.Env).Scan(&activeID)
	switch {
	case err == nil:
		active, err := scan(tx.QueryRowContext(ctx, `SELECT `+cols+` FROM deployments WHERE id = $1`, activeID))
		if err != nil {
			return d, fmt.Errorf("create deployment: read the active one: %w", err)
		}
		return d, &Busy{Active: active}
	case !errors.Is(err, sql.ErrNoRows):
		return d, fmt.Errorf("create deployment: %w", err)
	}
	if d.Status == "" {
		d.Status = StatusPending
	}
	d.Created = d.Created.UTC().Truncate(time.Millisecond)
	err = tx.QueryRowContext(ctx, `INSERT INTO deployments (app, env, ref, sha, task, hosts, user_name, source, room, thread_ref,
		provider, status, forced, previous_sha, job_id, github_id, description, created, started, finished)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, 0, 0) RETURNING id`,
		d.App, d.Env, d.Ref, d.SHA, d.Task, d.Hosts, d.User, d.Source, d.Room, d.ThreadRef, d.Provider, d.Status, d.Forced,
		d.PreviousSHA, d.JobID, d.GitHubID, d.Description, millis(d.Created)).Scan(&d.ID)
	if err != nil {
		return d, fmt.Errorf("create deployment: %w", err)
	}
	// A concurrent Create on another connection loses here, on the key.
	if _, err := tx.ExecContext(ctx, `INSERT INTO deploy_active (app, env, deployment_id) VALUES ($1, $2, $3)`, d.App, d.Env, d.ID); err != nil {
		if isUniqueViolation(err) {
			return d, &Busy{Active: Deployment{App: d.App, Env: d.Env}}
		}
		return d, fmt.Errorf("create deployment: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return d, fmt.Errorf("create deployment: %w", err)
	}
	return d, nil
}

func isUniqueViolation(err error) bool {
	s := strings.ToLower(err.Error())
	return strings.Contains(s, "unique") || strings.Contains(s, "duplicate key")
}

// Get returns deployment id.
func (r *Records) Get(ctx context.Context, id int64) (Deployment, error) {
	d, err := scan(r.db.QueryRowContext(ctx, `SELECT `+cols+` FROM deployments WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return d, fmt.Errorf("deployment #%d: %w", id, ErrNotFound)
	}
	if err != nil {
		return d, fmt.Errorf("deployment #%d: %w", id, err)
	}
	return d, nil
}

// ByGitHubID returns the deployment mirrored as GitHub deployment id.
func (r *Records) ByGitHubID(ctx context.Context, id int64) (Deployment, error) {
	d, err := scan(r.db.QueryRowContext(ctx, `SELECT `+cols+` FROM deployments WHERE github_id = $1 ORDER BY id LIMIT 1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return d, fmt.Errorf("github deployment %d: %w", id, ErrNotFound)
	}
	return d, err
}

// Filter selects deployments; zero fields match everything.
type Filter struct {
	App, Env, Ref, Status string
	Statuses              []string
	Before                int64 // only ids below
	Limit                 int   // default 20
}

// List returns deployments matching f, newest first.
func (r *Records) List(ctx context.Context, f Filter) ([]Deployment, error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if f.App != "" {
		add("app = $%d", f.App)
	}
	if f.Env != "" {
		add("env = $%d", f.Env)
	}
	if f.Ref != "" {
		add("ref = $%d", f.Ref)
	}
	if f.Status != "" {
		add("status = $%d", f.Status)
	}
	if len(f.Statuses) > 0 {
		var ph []string
		for _, s := range f.Statuses {
			args = append(args, s)
			ph = append(ph, fmt.Sprintf("$%d", len(args)))
		}
		where = append(where, "status IN ("+strings.Join(ph, ", ")+")")
	}
	if f.Before > 0 {
		add("id < $%d", f.Before)
	}
	if f.Limit <= 0 {
		f.Limit = 20
	}
	q := `SELECT ` + cols + ` FROM deployments`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += fmt.Sprintf(" ORDER BY id DESC LIMIT %d", f.Limit)
	rows, err := r.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list deployments: %w", err)
	}
	defer rows.Close()
	var out []Deployment
	for rows.Next() {
		d, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("list deployments: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// LastSuccess returns the newest successful deployment of app to env
// (ErrNotFound when there is none), skipping those with id >= before when
// before is set.
func (r *Records) LastSuccess(ctx context.Context, app, env string, before int64) (Deployment, error) {
	f := Filter{App: app, Env: env, Status: StatusSuccess, Before: before, Limit: 1}
	ds, err := r.List(ctx, f)
	if err != nil {
		return Deployment{}, err
	}
	if len(ds) == 0 {
		return Deployment{}, fmt.Errorf("%s in %s: %w", app, env, ErrNotFound)
	}
	return ds[0], nil
}

// SetJob records the deployment's job and thread.
func (r *Records) SetJob(ctx context.Context, id, jobID int64, threadRef string) error {
	_, err := r.db.ExecContext(ctx, `UPDATE deployments SET job_id = $1, thread_ref = CASE WHEN $2 = '' THEN thread_ref ELSE $2 END WHERE id = $3`, jobID, threadRef, id)
	if err != nil {
		return fmt.Errorf("deployment #%d: %w", id, err)
	}
	return nil
}

// SetThread records the post the deployment reports under.
func (r *Records) SetThread(ctx context.Context, id int64, threadRef string) error {
	_, err := r.db.ExecContext(ctx, `UPDATE deployments SET thread_ref = $1 WHERE id = $2`, threadRef, id)
	if err != nil {
		return fmt.Errorf("deployment #%d: %w", id, err)
	}
	return nil
}

// SetGitHubID records the deployment's mirror on GitHub.
func (r *Records) SetGitHubID(ctx context.Context, id, ghID int64) error {
	_, err := r.db.ExecContext(ctx, `UPDATE deployments SET github_id = $1 WHERE id = $2`, ghID, id)
	if err != nil {
		return fmt.Errorf("deployment #%d: %w", id, err)
	}
	return nil
}

// Start marks a pending deployment running, with the commit it resolved
// to. It reports false when the deployment was no longer pending
// (cancelled before it started): it must not run.
func (r *Records) Start(ctx context.Context, id int64, sha string, at time.Time) (bool, error) {
	res, err := r.db.ExecContext(ctx, `UPDATE deployments SET status = $1, started = $2, sha = CASE WHEN $3 = '' THEN sha ELSE $3 END
		WHERE id = $4 AND status = $5`, StatusRunning, millis(at), sha, id, StatusPending)
	if err != nil {
		return false, fmt.Errorf("deployment #%d: start: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("deployment #%d: start: %w", id, err)
	}
	return n == 1, nil
}

// Finish records a final status and frees the app and environment's slot,
// in one transaction. It reports false (and changes nothing) when the
// deployment had already finished: the first outcome recorded wins.
func (r *Records) Finish(ctx context.Context, id int64, status, description string, at time.Time) (bool, error) {
	if !Final(status) {
		return false, fmt.Errorf("deployment #%d: %q is not a final status", id, status)
	}
	tx, err := r.db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("deployment #%d: finish: %w", id, err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE deployments SET status = $1, description = $2, finished = $3
		WHERE id = $4 AND status IN ($5, $6)`, status, description, millis(at), id, StatusPending, StatusRunning)
	if err != nil {
		return false, fmt.Errorf("deployment #%d: finish: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("deployment #%d: finish: %w", id, err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM deploy_active WHERE deployment_id = $1`, id); err != nil {
		return false, fmt.Errorf("deployment #%d: free its slot: %w", id, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("deployment #%d: finish: %w", id, err)
	}
	return n == 1, nil
}

// Active returns the deployments under way (pending or running).
func (r *Records) Active(ctx context.Context) ([]Deployment, error) {
	return r.List(ctx, Filter{Statuses: []string{StatusPending, StatusRunning}, Limit: 1000})
}
