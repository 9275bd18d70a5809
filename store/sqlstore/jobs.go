package sqlstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/opsbot/opsbot/store"
)

const jobColumns = "id, kind, command, args, user_name, room, thread_ref, state, resumable, started, finished, exit_code, error_text, payload"

func scanJob(sc scanner) (store.Job, error) {
	var j store.Job
	var args string
	var started, finished int64
	err := sc.Scan(&j.ID, &j.Kind, &j.Command, &args, &j.UserName, &j.Room, &j.ThreadRef, &j.State,
		&j.Resumable, &started, &finished, &j.ExitCode, &j.Error, &j.Payload)
	if err != nil {
		return store.Job{}, err
	}
	if j.Args, err = decodeMap[string](args); err != nil {
		return store.Job{}, fmt.Errorf("job %d args: %w", j.ID, err)
	}
	j.Started, j.Finished = fromMillis(started), fromMillis(finished)
	return j, nil
}

// CreateJob stores a job and returns it as stored: with its ID, State
// "queued" if it was empty, and empty Args as nil.
func (s *Store) CreateJob(ctx context.Context, j store.Job) (store.Job, error) {
	if j.State == "" {
		j.State = "queued"
	}
	j.Started, j.Finished = roundTrip(j.Started), roundTrip(j.Finished)
	args, err := encodeMap(j.Args)
	if err != nil {
		return store.Job{}, fmt.Errorf("create job: %w", err)
	}
	err = s.db.QueryRowContext(ctx,
		`INSERT INTO jobs (kind, command, args, user_name, room, thread_ref, state, resumable,
		                   started, finished, exit_code, error_text, payload)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id`,
		j.Kind, j.Command, args, j.UserName, j.Room, j.ThreadRef, j.State, j.Resumable,
		millis(j.Started), millis(j.Finished), j.ExitCode, j.Error, j.Payload).Scan(&j.ID)
	if err != nil {
		return store.Job{}, fmt.Errorf("create job: %w", err)
	}
	if len(j.Args) == 0 {
		j.Args = nil
	}
	return j, nil
}

// Job finds a job by ID.
func (s *Store) Job(ctx context.Context, id int64) (store.Job, error) {
	j, err := scanJob(s.db.QueryRowContext(ctx, `SELECT `+jobColumns+` FROM jobs WHERE id = $1`, id))
	if err != nil {
		return store.Job{}, wrap(err, "job %d", id)
	}
	return j, nil
}

// UpdateJob writes j's State, Finished, ExitCode and Error (only those);
// store.ErrNotFound if there is no job j.ID.
func (s *Store) UpdateJob(ctx context.Context, j store.Job) error {
	res, err := s.db.ExecContext(ctx,
		`UPDATE jobs SET state = $1, finished = $2, exit_code = $3, error_text = $4 WHERE id = $5`,
		j.State, millis(j.Finished), j.ExitCode, j.Error, j.ID)
	if err := affectedOne(res, err); err != nil {
		return wrap(err, "update job %d", j.ID)
	}
	return nil
}

// ListJobs lists jobs newest first, in any of f.States if given; f.Limit
// defaults to 100 and is capped at 1000.
func (s *Store) ListJobs(ctx context.Context, f store.JobFilter) ([]store.Job, error) {
	query := `SELECT ` + jobColumns + ` FROM jobs`
	var args []any
	if len(f.States) > 0 {
		marks := make([]string, len(f.States))
		for i, st := range f.States {
			args = append(args, st)
			marks[i] = fmt.Sprintf("$%d", len(args))
		}
		query += ` WHERE state IN (` + strings.Join(marks, ", ") + `)`
	}
	args = append(args, clampLimit(f.Limit))
	query += fmt.Sprintf(` ORDER BY id DESC LIMIT $%d`, len(args))

	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	defer rows.Close()
	jobs := []store.Job{}
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, fmt.Errorf("list jobs: %w", err)
		}
		jobs = append(jobs, j)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	return jobs, nil
}
