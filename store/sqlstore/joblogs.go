package sqlstore

import (
	"context"
	"fmt"
)

// AppendJobLog adds chunk to the end of a job's log; store.ErrNotFound if
// there is no such job.
func (s *Store) AppendJobLog(ctx context.Context, id int64, chunk []byte) error {
	if chunk == nil {
		chunk = []byte{} // NULL would break NOT NULL
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO job_logs (job_id, chunk) VALUES ($1, $2)`, id, chunk)
	if err != nil {
		if ok, exErr := s.jobExists(ctx, id); exErr == nil && !ok {
			return notFound("append log of job %d", id)
		}
		return fmt.Errorf("append log of job %d: %w", id, err)
	}
	return nil
}

// JobLog returns a job's log: its chunks concatenated in the order they were
// appended (empty, not nil, if none). store.ErrNotFound if there is no such job.
func (s *Store) JobLog(ctx context.Context, id int64) ([]byte, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT chunk FROM job_logs WHERE job_id = $1 ORDER BY id`, id)
	if err != nil {
		return nil, fmt.Errorf("log of job %d: %w", id, err)
	}
	defer rows.Close()
	log := []byte{}
	n := 0
	for rows.Next() {
		var chunk []byte
		if err := rows.Scan(&chunk); err != nil {
			return nil, fmt.Errorf("log of job %d: %w", id, err)
		}
		log = append(log, chunk...)
		n++
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("log of job %d: %w", id, err)
	}
	if n == 0 {
		ok, err := s.jobExists(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("log of job %d: %w", id, err)
		}
		if !ok {
			return nil, notFound("log of job %d", id)
		}
	}
	return log, nil
}

func (s *Store) jobExists(ctx context.Context, id int64) (bool, error) {
	return s.exists(ctx, `SELECT 1 FROM jobs WHERE id = $1`, id)
}
