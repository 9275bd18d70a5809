package store

import (
	"context"
	"database/sql"
	"time"
)

// Users keeps users, their chat identities, groups and one-time link codes.
type Users interface {
	CreateUser(ctx context.Context, name string) (User, error) // ErrExists if taken
	UserByName(ctx context.Context, name string) (User, error) // ErrNotFound
	UserByID(ctx context.Context, id int64) (User, error)
	ListUsers(ctx context.Context) ([]User, error)
	SetPasswordHash(ctx context.Context, userID int64, hash string) error
	CountUsers(ctx context.Context) (int, error)

	// LinkIdentity attaches a chat identity to a user, replacing an earlier link of it.
	LinkIdentity(ctx context.Context, id Identity) error
	// UserByIdentity finds the user an identity belongs to (ErrNotFound for a guest).
	UserByIdentity(ctx context.Context, adapter, chatID string) (User, error)
	IdentitiesOf(ctx context.Context, userID int64) ([]Identity, error)

	AddToGroup(ctx context.Context, userID int64, group string) error
	RemoveFromGroup(ctx context.Context, userID int64, group string) error
	GroupsOf(ctx context.Context, userID int64) ([]string, error)
	// Members lists the users of a group.
	Members(ctx context.Context, group string) ([]User, error)

	// CreateLinkCode stores a one-time code that links an identity to userID until expires.
	CreateLinkCode(ctx context.Context, userID int64, code string, expires time.Time) error
	// ConsumeLinkCode returns the user of a valid, unexpired code and deletes it (ErrNotFound otherwise).
	ConsumeLinkCode(ctx context.Context, code string, now time.Time) (User, error)
}

// Rules keeps permission rules.
type Rules interface {
	AddRule(ctx context.Context, r Rule) (Rule, error)
	// RemoveRules deletes the rules granting permission to subject; it returns how many.
	RemoveRules(ctx context.Context, permission, subject string) (int, error)
	ListRules(ctx context.Context) ([]Rule, error)
}

// Confirmations keeps pending confirmations.
type Confirmations interface {
	CreateConfirmation(ctx context.Context, c Confirmation) error
	// TakeConfirmation resolves the pending confirmation with code for userKey as
	// "confirmed" and returns it, if it exists, is still pending and unexpired at now.
	// Exactly one caller can take a confirmation.
	TakeConfirmation(ctx context.Context, code, userKey string, now time.Time) (Confirmation, error)
	// ExpireConfirmations marks every pending confirmation whose time ran out as
	// "expired" and returns them.
	ExpireConfirmations(ctx context.Context, now time.Time) ([]Confirmation, error)
}

// Audit keeps the audit log.
type Audit interface {
	AppendAudit(ctx context.Context, e AuditEntry) (int64, error)
	// FinishAudit records the decision, outcome and duration of an entry.
	FinishAudit(ctx context.Context, id int64, decision, outcome, errText string, d time.Duration) error
	QueryAudit(ctx context.Context, f AuditFilter) ([]AuditEntry, error)
}

// Tokens keeps API tokens.
type Tokens interface {
	CreateToken(ctx context.Context, t Token) (Token, error)
	TokenByHash(ctx context.Context, hash string) (Token, error) // revoked tokens too; the caller checks
	ListTokens(ctx context.Context) ([]Token, error)
	RevokeToken(ctx context.Context, name string) error // ErrNotFound
	TouchToken(ctx context.Context, id int64, at time.Time) error
}

// Jobs keeps background job records and their logs.
type Jobs interface {
	CreateJob(ctx context.Context, j Job) (Job, error)
	Job(ctx context.Context, id int64) (Job, error)
	// UpdateJob writes State, Finished, ExitCode and Error.
	UpdateJob(ctx context.Context, j Job) error
	ListJobs(ctx context.Context, f JobFilter) ([]Job, error)
	AppendJobLog(ctx context.Context, id int64, chunk []byte) error
	JobLog(ctx context.Context, id int64) ([]byte, error)
}

// KV is a small namespaced key/value store for modules (thread contexts, pending choices…).
type KV interface {
	Put(ctx context.Context, ns, key, value string, expires time.Time) error // zero expires: never
	Get(ctx context.Context, ns, key string, now time.Time) (string, error)  // ErrNotFound
	Delete(ctx context.Context, ns, key string) error
}

// Store is everything opsbot keeps.
type Store interface {
	Users
	Rules
	Confirmations
	Audit
	Tokens
	Jobs
	KV

	// Dialect is "sqlite" or "postgres".
	Dialect() string
	// DB is the underlying database, for modules that keep their own tables
	// (through migrations added to this package) and for the job queue.
	DB() *sql.DB
	Migrate(ctx context.Context) error
	Close() error
}
