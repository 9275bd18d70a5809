// Package eventsql is the event log (event.Log) on the store's database,
// SQLite or PostgreSQL, in the table `events` (migration 00010_events.sql).
//
// Conventions are the store's: $N placeholders on both databases, times as
// unix milliseconds, maps and lists as JSON text. The sequence number is the
// table's auto-increment key; appends are serialised (SQLite has one
// connection, PostgreSQL takes a transaction-scoped advisory lock), so
// sequence numbers become visible in order and a consumer reading
// After(cursor) never skips an event committed late with a lower number.
package eventsql

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/opsbot/opsbot/event"
)

// Dialects, as the store names them (store.Store.Dialect()).
const (
	DialectSQLite   = "sqlite"
	DialectPostgres = "postgres"
)

// appendLock is the PostgreSQL advisory lock key that serialises appends
// across processes: "opsbotev" in ASCII.
const appendLock = 0x6f7073626f746576

// Query limits.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
	// MaxAfter bounds one After call.
	MaxAfter = 10000
)

// Log is event.Log on a database. It is safe for concurrent use.
type Log struct {
	db      *sql.DB
	read    *sql.DB // reads: the store's read pool (ReadDB), else db
	dialect string
	now     func() time.Time
	event.Notifier

	prepMu sync.Mutex
	insert map[int]*sql.Stmt // by number of rows, prepared once: SQLite would parse it again in every transaction
}

var _ event.Log = (*Log)(nil)

// New returns the log over db, a store's database of dialect (DialectSQLite
// or DialectPostgres) that has been migrated. now stamps appends (the
// "received" column and generated IDs); nil means time.Now.
func New(db *sql.DB, dialect string, now func() time.Time) *Log {
	if now == nil {
		now = time.Now
	}
	return &Log{db: db, read: db, dialect: dialect, now: now}
}

// ReadFrom makes the log's reads (After, Head, Count, Query) use db: on a
// SQLite file, the store's read-only pool (sqlstore.Store.ReadDB), so that
// readers such as the notify pipeline do not wait for, nor hold up, the
// single writer connection. It returns l.
func (l *Log) ReadFrom(db *sql.DB) *Log {
	if db != nil {
		l.read = db
	}
	return l
}

const columns = `seq, id, tag, severity, status, title, text, labels, fields, links, room, fingerprint, source, at`

// insertCols is the number of columns an append writes per event;
// insertChunk is the most events one INSERT statement carries.
const (
	insertCols  = 14
	insertChunk = 64
)

// insertSQL is the multi-row insert of n events. SQLite gets anonymous
// `?` parameters: its driver looks each `$N` up by name, which is linear in
// the number of parameters, so quadratic for a multi-row insert.
func insertSQL(dialect string, n int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO events (id, tag, severity, status, title, text, labels, fields, links, room,
	fingerprint, source, at, received) VALUES `)
	for r := range n {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for c := range insertCols {
			if c > 0 {
				b.WriteString(", ")
			}
			if dialect == DialectSQLite {
				b.WriteByte('?')
			} else {
				fmt.Fprintf(&b, "$%d", r*insertCols+c+1)
			}
		}
		b.WriteByte(')')
	}
	b.WriteString(` ON CONFLICT (id) DO NOTHING RETURNING id, seq`)
	return b.String()
}

// Append stores events in one transaction and returns them with their
// sequence numbers, in order; IDs are assigned to events without one. An
// event whose ID is already in the log is not stored again: its stored
// version is returned (so a sender's retry is idempotent). Times are kept to
// the millisecond, in UTC, and the returned events are as stored. Watchers
// (Notify) are woken once the transaction is committed.
func (l *Log) Append(ctx context.Context, events []event.Event) ([]event.Stored, error) {
	if len(events) == 0 {
		return nil, nil
	}
	now := l.now()
	rows := make([]event.Event, len(events))
	args := make([]any, 0, len(events)*insertCols)
	for i, e := range events {
		if e.ID == "" {
			e.ID = event.NewID(now)
		}
		e.Time = e.Time.UTC().Truncate(time.Millisecond)
		labels, fields, links, err := encode(e)
		if err != nil {
			return nil, fmt.Errorf("append event %s: %w", e.ID, err)
		}
		rows[i] = e
		args = append(args, e.ID, e.Tag, string(e.Severity), string(e.Status), e.Title, e.Text,
			labels, fields, links, e.Room, e.Fingerprint, e.Source, millis(e.Time), now.UnixMilli())
	}
	// Statements are prepared before the transaction: on SQLite the
	// transaction holds the only connection.
	chunks := make([]*sql.Stmt, 0, (len(rows)+insertChunk-1)/insertChunk)
	for start := 0; start < len(rows); start += insertChunk {
		st, err := l.insertStmt(ctx, min(insertChunk, len(rows)-start))
		if err != nil {
			return nil, fmt.Errorf("append events: %w", err)
		}
		chunks = append(chunks, st)
	}
	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("append events: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if l.dialect == DialectPostgres {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(appendLock)); err != nil {
			return nil, fmt.Errorf("append events: lock: %w", err)
		}
	}
	// One multi-row INSERT per chunk; RETURNING gives (id, seq) of the rows
	// inserted, in no promised order, so they are matched by ID. Rows are
	// inserted in VALUES order, so sequence numbers follow the batch's order.
	seqs := make(map[string]int64, len(rows))
	for c, prepared := range chunks {
		start := c * insertChunk
		n := min(insertChunk, len(rows)-start)
		if err := func() error {
			ins := tx.StmtContext(ctx, prepared)
			defer ins.Close()
			res, err := ins.QueryContext(ctx, args[start*insertCols:(start+n)*insertCols]...)
			if err != nil {
				return err
			}
			defer res.Close()
			for res.Next() {
				var id string
				var seq int64
				if err := res.Scan(&id, &seq); err != nil {
					return err
				}
				seqs[id] = seq
			}
			return res.Err()
		}(); err != nil {
			return nil, fmt.Errorf("append events: %w", err)
		}
	}
	out := make([]event.Stored, len(rows))
	for i, e := range rows {
		seq, ok := seqs[e.ID]
		if !ok {
			// The ID is taken: the event was stored before (or twice in
			// this batch: the first one was).
			s, err := scan(tx.QueryRowContext(ctx, `SELECT `+columns+` FROM events WHERE id = $1`, e.ID))
			if err != nil {
				return nil, fmt.Errorf("append event %s: read the stored one: %w", e.ID, err)
			}
			out[i] = s
			continue
		}
		out[i] = event.Stored{Seq: seq, Event: e}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("append events: commit: %w", err)
	}
	l.Wake()
	return out, nil
}

// insertStmt is the insert statement of n events, prepared on first use.
func (l *Log) insertStmt(ctx context.Context, n int) (*sql.Stmt, error) {
	l.prepMu.Lock()
	defer l.prepMu.Unlock()
	if st := l.insert[n]; st != nil {
		return st, nil
	}
	st, err := l.db.PrepareContext(ctx, insertSQL(l.dialect, n))
	if err != nil {
		return nil, err
	}
	if l.insert == nil {
		l.insert = map[int]*sql.Stmt{}
	}
	l.insert[n] = st
	return st, nil
}

// After returns up to limit events with Seq > seq, in order (limit ≤ 0 means
// DefaultLimit; at most MaxAfter).
func (l *Log) After(ctx context.Context, seq int64, limit int) ([]event.Stored, error) {
	if limit <= 0 {
		limit = DefaultLimit
	}
	limit = min(limit, MaxAfter)
	rows, err := l.read.QueryContext(ctx, `SELECT `+columns+` FROM events WHERE seq > $1 ORDER BY seq LIMIT $2`, seq, limit)
	if err != nil {
		return nil, fmt.Errorf("read events after %d: %w", seq, err)
	}
	out, err := scanAll(rows)
	if err != nil {
		return nil, fmt.Errorf("read events after %d: %w", seq, err)
	}
	return out, nil
}

// Head is the highest sequence number in the log (0 when it is empty).
func (l *Log) Head(ctx context.Context) (int64, error) {
	var seq sql.NullInt64
	if err := l.read.QueryRowContext(ctx, `SELECT MAX(seq) FROM events`).Scan(&seq); err != nil {
		return 0, fmt.Errorf("read the log's head: %w", err)
	}
	return seq.Int64, nil
}

// Count is the number of events in the log.
func (l *Log) Count(ctx context.Context) (int64, error) {
	var n int64
	if err := l.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM events`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count events: %w", err)
	}
	return n, nil
}

// Query returns the events matching f, newest (highest Seq) first. Since and
// Until bound the event's own time (Since inclusive, Until exclusive); Before
// pages (pass the last Seq of a page to get the next). Tag patterns and
// labels are narrowed in SQL and checked exactly in Go, reading on until the
// page is full.
func (l *Log) Query(ctx context.Context, f event.Filter) ([]event.Stored, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	limit = min(limit, MaxLimit)
	pattern := strings.ToLower(f.TagPattern)
	text := strings.ToLower(f.Text)

	var conds []string
	var args []any
	cond := func(format string, v any) {
		args = append(args, v)
		conds = append(conds, fmt.Sprintf(format, len(args)))
	}
	if pattern != "" && pattern != "**" {
		if prefix, exact := literalPrefix(pattern); exact {
			cond("tag = $%d", pattern)
		} else if prefix != "" {
			cond(`tag LIKE $%d ESCAPE '\'`, escapeLike(prefix)+"%")
		}
	}
	if f.Source != "" {
		cond("source = $%d", f.Source)
	}
	for _, k := range slices.Sorted(maps.Keys(f.Label)) {
		pair, err := json.Marshal(map[string]string{k: f.Label[k]})
		if err != nil {
			return nil, fmt.Errorf("query events: %w", err)
		}
		cond(`labels LIKE $%d ESCAPE '\'`, "%"+escapeLike(string(pair[1:len(pair)-1]))+"%")
	}
	if text != "" {
		args = append(args, "%"+escapeLike(text)+"%")
		n := len(args)
		conds = append(conds, fmt.Sprintf(`(LOWER(title) LIKE $%d ESCAPE '\' OR LOWER(text) LIKE $%d ESCAPE '\')`, n, n))
	}
	if !f.Since.IsZero() {
		cond("at >= $%d", millis(f.Since))
	}
	if !f.Until.IsZero() {
		cond("at < $%d", millis(f.Until))
	}
	// The page cursor is the last argument, moved on as chunks are read.
	before := f.Before
	if before <= 0 {
		before = 1<<63 - 1
	}
	args = append(args, before)
	conds = append(conds, fmt.Sprintf("seq < $%d", len(args)))
	chunk := limit
	exactInSQL := len(f.Label) == 0 && text == "" && (pattern == "" || pattern == "**" || !strings.Contains(pattern, "*"))
	if !exactInSQL {
		chunk = max(limit, 200)
	}
	args = append(args, chunk)
	q := `SELECT ` + columns + ` FROM events WHERE ` + strings.Join(conds, " AND ") +
		fmt.Sprintf(" ORDER BY seq DESC LIMIT $%d", len(args))

	var out []event.Stored
	for {
		rows, err := l.read.QueryContext(ctx, q, args...)
		if err != nil {
			return nil, fmt.Errorf("query events: %w", err)
		}
		got, err := scanAll(rows)
		if err != nil {
			return nil, fmt.Errorf("query events: %w", err)
		}
		for _, s := range got {
			if keep(s, pattern, f.Label, text) {
				out = append(out, s)
				if len(out) == limit {
					return out, nil
				}
			}
		}
		if len(got) < chunk {
			return out, nil
		}
		args[len(args)-2] = got[len(got)-1].Seq
	}
}

// keep checks what SQL only narrowed.
func keep(s event.Stored, pattern string, labels map[string]string, text string) bool {
	if pattern != "" && !event.Match(pattern, s.Tag) {
		return false
	}
	for k, v := range labels {
		if got, ok := s.Labels[k]; !ok || got != v {
			return false
		}
	}
	if text != "" && !strings.Contains(strings.ToLower(s.Title), text) && !strings.Contains(strings.ToLower(s.Text), text) {
		return false
	}
	return true
}

// literalPrefix is the part of a tag pattern before its first wildcard
// segment ("deploy.*" → "deploy."; "alert.**" → "alert", as ** may match
// no segment), and whether the pattern has no wildcard at all.
func literalPrefix(pattern string) (string, bool) {
	parts := strings.Split(pattern, ".")
	for i, p := range parts {
		if p == "*" || p == "**" {
			prefix := strings.Join(parts[:i], ".")
			if p == "*" && i > 0 {
				prefix += "."
			}
			return prefix, false
		}
	}
	return pattern, true
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

func millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func encode(e event.Event) (labels, fields, links string, err error) {
	labels, fields, links = "{}", "{}", "[]"
	if len(e.Labels) > 0 {
		b, err := json.Marshal(e.Labels)
		if err != nil {
			return "", "", "", fmt.Errorf("encode labels: %w", err)
		}
		labels = string(b)
	}
	if len(e.Fields) > 0 {
		b, err := json.Marshal(e.Fields)
		if err != nil {
			return "", "", "", fmt.Errorf("encode fields: %w", err)
		}
		fields = string(b)
	}
	if len(e.Links) > 0 {
		b, err := json.Marshal(e.Links)
		if err != nil {
			return "", "", "", fmt.Errorf("encode links: %w", err)
		}
		links = string(b)
	}
	return labels, fields, links, nil
}

type scanner interface {
	Scan(dest ...any) error
}

func scan(sc scanner) (event.Stored, error) {
	var s event.Stored
	var sev, status, labels, fields, links string
	var at int64
	if err := sc.Scan(&s.Seq, &s.ID, &s.Tag, &sev, &status, &s.Title, &s.Text, &labels, &fields, &links,
		&s.Room, &s.Fingerprint, &s.Source, &at); err != nil {
		return s, err
	}
	s.Severity, s.Status = event.Severity(sev), event.Status(status)
	if at != 0 {
		s.Time = time.UnixMilli(at).UTC()
	}
	if labels != "{}" {
		if err := json.Unmarshal([]byte(labels), &s.Labels); err != nil {
			return s, fmt.Errorf("event %d: decode labels: %w", s.Seq, err)
		}
	}
	if fields != "{}" {
		if err := json.Unmarshal([]byte(fields), &s.Fields); err != nil {
			return s, fmt.Errorf("event %d: decode fields: %w", s.Seq, err)
		}
	}
	if links != "[]" {
		if err := json.Unmarshal([]byte(links), &s.Links); err != nil {
			return s, fmt.Errorf("event %d: decode links: %w", s.Seq, err)
		}
	}
	return s, nil
}

func scanAll(rows *sql.Rows) ([]event.Stored, error) {
	defer rows.Close()
	var out []event.Stored
	for rows.Next() {
		s, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}
