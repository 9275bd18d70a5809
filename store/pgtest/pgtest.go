// Package pgtest gives tests a fresh database on a real PostgreSQL server.
//
// Start returns the URL of a new, empty database and drops it when the test
// ends. The server is either the one named by $OPSBOT_TEST_POSTGRES (a URL of
// a role allowed to create databases) or, by default, a throwaway server that
// pgtest starts from the installed PostgreSQL binaries: one per test binary,
// started on first use, on a free loopback port, with durability off, and
// stopped (its directory deleted) when the test binary exits, even if it
// crashes. Run as root, it runs the server as the postgres user, as
// PostgreSQL refuses root. When PostgreSQL is not installed the test is
// skipped, or fails if $CI is true.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvURL names the environment variable that points pgtest at an existing
// server instead of starting one.
const EnvURL = "OPSBOT_TEST_POSTGRES"

// adminTimeout bounds each database creation or drop.
const adminTimeout = 30 * time.Second

var (
	once     sync.Once
	adminURL string // a database on the server, to create the others from
	// skip says why PostgreSQL is unavailable, if it is.
	skip string
	// startErr is why the server couldn't be started, if it couldn't.
	startErr error
)

// Start returns the URL of a new, empty database owned by a superuser on a
// real PostgreSQL server, dropped when t ends. It skips t (fails it if $CI is
// true) when PostgreSQL is not installed and $OPSBOT_TEST_POSTGRES is unset.
func Start(t testing.TB) string {
	t.Helper()
	once.Do(func() {
		if u := os.Getenv(EnvURL); u != "" {
			adminURL, startErr = u, ping(u)
			if startErr != nil {
				startErr = fmt.Errorf("$%s: %w", EnvURL, startErr)
			}
			return
		}
		adminURL, skip, startErr = startServer()
	})
	if skip != "" {
		unavailable(t, skip)
		return ""
	}
	if startErr != nil {
		t.Fatalf("pgtest: %v", startErr)
	}
	u, err := createDatabase(t)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return u
}

// unavailable skips t because PostgreSQL is unavailable, or fails it on CI.
func unavailable(t testing.TB, reason string) {
	t.Helper()
	if ci, _ := strconv.ParseBool(os.Getenv("CI")); ci {
		t.Fatalf("pgtest: %s; $CI is true, so the PostgreSQL tests must run: install PostgreSQL or set $%s", reason, EnvURL)
		return
	}
	t.Skipf("pgtest: %s (install PostgreSQL or set $%s to run this test)", reason, EnvURL)
}

// createDatabase creates a database named after t and schedules its drop.
func createDatabase(t testing.TB) (string, error) {
	name, err := databaseName(t.Name())
	if err != nil {
		return "", err
	}
	if err := admin("CREATE DATABASE " + name); err != nil {
		return "", fmt.Errorf("create database %s: %w", name, err)
	}
	t.Cleanup(func() {
		// FORCE (PostgreSQL 13 and later) ends connections the test left open.
		if err := admin("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
			if err := admin("DROP DATABASE IF EXISTS " + name); err != nil {
				t.Errorf("pgtest: drop database %s: %v", name, err)
			}
		}
	})
	u, err := url.Parse(adminURL)
	if err != nil {
		return "", fmt.Errorf("server URL: %w", err)
	}
	u.Path = "/" + name
	return u.String(), nil
}

// databaseName is a unique, valid database name that tells which test it is for.
func databaseName(test string) (string, error) {
	var b strings.Builder
	for _, r := range strings.ToLower(test) {
		switch {
		case b.Len() >= 40:
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	random := make([]byte, 6)
	if _, err := rand.Read(random); err != nil {
		return "", fmt.Errorf("database name: %w", err)
	}
	return "t_" + b.String() + "_" + hex.EncodeToString(random), nil
}

// admin runs a statement on the server's admin database.
func admin(stmt string) error {
	ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, stmt)
	return err
}

// ping checks that the server at u answers.
func ping(u string) error {
	ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return conn.Ping(ctx)
}

// errNotInstalled is returned by findBinaries when PostgreSQL isn't installed.
var errNotInstalled = errors.New("PostgreSQL is not installed (no initdb and pg_ctl found through pg_config --bindir, /usr/lib/postgresql/*/bin or $PATH)")
