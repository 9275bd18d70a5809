package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/opsbot/opsbot/store"
)

const auditColumns = "id, at, adapter, room, user_name, identity, text, command, args, decision, reason, outcome, error_text, duration_ns"

// AppendAudit stores an entry (Time defaults to now) and returns its ID.
// IDs increase with every entry.
func (s *Store) AppendAudit(ctx context.Context, e store.AuditEntry) (int64, error) {
	if e.Time.IsZero() {
		e.Time = s.now()
	}
	args, err := encodeMap(e.Args)
	if err != nil {
		return 0, fmt.Errorf("append audit: %w", err)
	}
	var id int64
	// text_lower serves the case-insensitive text search identically on both
	// databases (SQLite's LOWER only folds ASCII).
	err = s.db.QueryRowContext(ctx,
		`INSERT INTO audit (at, adapter, room, user_name, identity, text, text_lower, command, args,
		                    decision, reason, outcome, error_text, duration_ns)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id`,
		millis(e.Time), e.Adapter, e.Room, e.UserName, e.Identity, e.Text, strings.ToLower(e.Text),
		e.Command, args, e.Decision, e.Reason, e.Outcome, e.Error, int64(e.Duration)).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("append audit: %w", err)
	}
	return id, nil
}

// FinishAudit records the decision, outcome, error and duration of an entry;
// store.ErrNotFound if there is no such entry.
func (s *Store) FinishAudit(ctx context.Context, id int64, decision, outcome, errText string, d time.Duration) error {
	res, err := s.db.ExecContext(ctx,
		`UPDATE audit SET decision = $1, outcome = $2, error_text = $3, duration_ns = $4 WHERE id = $5`,
		decision, outcome, errText, int64(d), id)
	if err := affectedOne(res, err); err != nil {
		return wrap(err, "finish audit %d", id)
	}
	return nil
}

// QueryAudit lists entries newest (highest ID) first. f.User and f.Command
// match exactly, f.Text is a case-insensitive substring of the text; Since is
// inclusive, Until exclusive. f.Limit defaults to 100 and is capped at 1000;
// for the next page pass the last ID returned as f.Before.
func (s *Store) QueryAudit(ctx context.Context, f store.AuditFilter) ([]store.AuditEntry, error) {
	var where []string
	var args []any
	cond := func(expr string, arg any) {
		args = append(args, arg)
		where = append(where, fmt.Sprintf(expr, len(args)))
	}
	if f.User != "" {
		cond("user_name = $%d", f.User)
	}
	if f.Command != "" {
		cond("command = $%d", f.Command)
	}
	if f.Text != "" {
		cond(`text_lower LIKE $%d ESCAPE '\'`, "%"+escapeLike(strings.ToLower(f.Text))+"%")
	}
	if !f.Since.IsZero() {
		cond("at >= $%d", millis(f.Since))
	}
	if !f.Until.IsZero() {
		cond("at < $%d", millis(f.Until))
	}
	if f.Before > 0 {
		cond("id < $%d", f.Before)
	}
	query := `SELECT ` + auditColumns + ` FROM audit`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	args = append(args, clampLimit(f.Limit))
	query += fmt.Sprintf(` ORDER BY id DESC LIMIT $%d`, len(args))

	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("query audit: %w", err)
	}
	defer rows.Close()
	entries := []store.AuditEntry{}
	for rows.Next() {
		e, err := scanAudit(rows)
		if err != nil {
			return nil, fmt.Errorf("query audit: %w", err)
		}
		entries = append(entries, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("query audit: %w", err)
	}
	return entries, nil
}

func scanAudit(sc scanner) (store.AuditEntry, error) {
	var e store.AuditEntry
	var at, duration int64
	var args string
	err := sc.Scan(&e.ID, &at, &e.Adapter, &e.Room, &e.UserName, &e.Identity, &e.Text, &e.Command,
		&args, &e.Decision, &e.Reason, &e.Outcome, &e.Error, &duration)
	if err != nil {
		return store.AuditEntry{}, err
	}
	if e.Args, err = decodeMap[string](args); err != nil {
		return store.AuditEntry{}, fmt.Errorf("audit %d args: %w", e.ID, err)
	}
	e.Time, e.Duration = fromMillis(at), time.Duration(duration)
	return e, nil
}

// escapeLike escapes the LIKE wildcards of s for ESCAPE '\'.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
