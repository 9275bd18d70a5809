// Package store keeps opsbot's state on SQLite (the embedded default) or
// PostgreSQL. It imports nothing above it: callers pass plain values.
package store

import (
	"errors"
	"time"
)

// ErrNotFound is returned when a looked-up row does not exist.
var ErrNotFound = errors.New("not found")

// ErrExists is returned when a unique row already exists.
var ErrExists = errors.New("already exists")

// User is an opsbot user.
type User struct {
	ID           int64
	Name         string
	PasswordHash string // empty when the user cannot log in to the web console
	Created      time.Time
}

// Identity links a chat identity to a user.
type Identity struct {
	UserID  int64
	Adapter string
	ChatID  string
	Name    string
}

// Rule grants a permission to a subject ("group:ops" or "user:alice"),
// optionally narrowed to rooms and argument values.
type Rule struct {
	ID         int64
	Permission string
	Subject    string
	Rooms      []string            // room names or IDs; empty means any room
	Args       map[string][]string // argument name → allowed values; empty means any
	Created    time.Time
}

// Confirmation is a pending request to confirm a command.
type Confirmation struct {
	Code     string // what the user answers: "yes 4821"
	UserKey  string // the identity key of the user who asked ("shell:alice")
	Room     string // the room key where it was asked
	Command  string
	Text     string // the full command text, to run again once confirmed
	Payload  string // JSON the bot needs to resume the call
	AuditID  int64
	Created  time.Time
	Expires  time.Time
	Resolved string // "" while pending; "confirmed", "expired", "cancelled"
}

// AuditEntry is one command decision and its outcome.
type AuditEntry struct {
	ID       int64
	Time     time.Time
	Adapter  string
	Room     string
	UserName string // opsbot user, or "guest:<identity>"
	Identity string // identity key
	Text     string // raw text, secrets redacted
	Command  string // matched command name, "" if none
	Args     map[string]string
	Decision string // allowed, denied, confirmed, expired, pending, unknown
	Reason   string // e.g. the missing permission
	Outcome  string // ok, error, timeout, cancelled, ""
	Error    string
	Duration time.Duration
}

// AuditFilter narrows an audit query. Zero fields match everything.
type AuditFilter struct {
	User    string
	Command string
	Text    string // substring of the raw text
	Since   time.Time
	Until   time.Time
	Limit   int   // default 100
	Before  int64 // page: entries with ID < Before
}

// Token is an API token; only its hash is stored.
type Token struct {
	ID   int64
	Name string
	// User is the opsbot user the token acts as ("" for none): APIs that
	// act on someone's behalf apply that user's permissions.
	User     string
	Hash     string
	Scopes   []string
	Created  time.Time
	LastUsed time.Time
	Revoked  bool
}

// Job is a background job record (a config-defined command run in the background, …).
type Job struct {
	ID        int64
	Kind      string
	Command   string
	Args      map[string]string
	UserName  string
	Room      string // room key
	ThreadRef string // JSON of the chat.Ref of the thread the job reports in
	State     string // queued, running, succeeded, failed, cancelled, timeout, interrupted
	Resumable bool
	Started   time.Time
	Finished  time.Time
	ExitCode  int
	Error     string
	Payload   string // JSON the job kind needs to run or resume
}

// JobFilter narrows a job listing.
type JobFilter struct {
	States []string
	Limit  int
}
