package jobs

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/opsbot/opsbot/store"
)

// The store's Jobs interface covers records and logs, but it can't write a
// record inside the transaction that inserts the River job, and UpdateJob
// doesn't write Started or ThreadRef. These few statements fill the gap.
// They follow the store's conventions (store/sqlstore: $N placeholders on
// both databases, times as unix milliseconds, maps as JSON objects), and
// the tests read every record they write back through the store.

// rowScanner is a *sql.Row or a pgx.Row.
type rowScanner interface {
	Scan(dest ...any) error
}

const insertJobSQL = `INSERT INTO jobs (kind, command, args, user_name, room, thread_ref, state, resumable,
	started, finished, exit_code, error_text, payload)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id`

// insertJob writes j through queryRow (a transaction's) and returns its ID.
func insertJob(queryRow func(sql string, args ...any) rowScanner, j store.Job) (int64, error) {
	args := "{}"
	if len(j.Args) > 0 {
		b, err := json.Marshal(j.Args)
		if err != nil {
			return 0, fmt.Errorf("encode args: %w", err)
		}
		args = string(b)
	}
	var id int64
	err := queryRow(insertJobSQL, j.Kind, j.Command, args, j.UserName, j.Room, j.ThreadRef, j.State, j.Resumable,
		millis(j.Started.UnixMilli(), j.Started.IsZero()), millis(j.Finished.UnixMilli(), j.Finished.IsZero()),
		j.ExitCode, j.Error, j.Payload).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("insert job record: %w", err)
	}
	return id, nil
}

func millis(ms int64, zero bool) int64 {
	if zero {
		return 0
	}
	return ms
}

// setThreadRef records the post a job reports under.
func setThreadRef(ctx context.Context, st store.Store, id int64, ref string) error {
	_, err := st.DB().ExecContext(ctx, `UPDATE jobs SET thread_ref = $1 WHERE id = $2`, ref, id)
	return err
}

// markRunning moves a queued job to running and sets its start time; it
// reports false when the job is no longer queued (cancelled meanwhile, or
// taken by another worker).
func markRunning(ctx context.Context, st store.Store, id int64, startedMillis int64) (bool, error) {
	res, err := st.DB().ExecContext(ctx,
		`UPDATE jobs SET state = 'running', started = $1 WHERE id = $2 AND state = 'queued'`,
		startedMillis, id)
	if err != nil {
		return false, fmt.Errorf("job %d: mark running: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("job %d: mark running: %w", id, err)
	}
	return n == 1, nil
}

// finishIfActive writes a final state only while the job is still queued or
// running, so a cancel and a worker can't overwrite each other's outcome.
func finishIfActive(ctx context.Context, st store.Store, j store.Job) (bool, error) {
	res, err := st.DB().ExecContext(ctx,
		`UPDATE jobs SET state = $1, finished = $2, exit_code = $3, error_text = $4 WHERE id = $5 AND state IN ('queued', 'running')`,
		j.State, millis(j.Finished.UnixMilli(), j.Finished.IsZero()), j.ExitCode, j.Error, j.ID)
	if err != nil {
		return false, fmt.Errorf("job %d: finish: %w", j.ID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("job %d: finish: %w", j.ID, err)
	}
	return n == 1, nil
}
