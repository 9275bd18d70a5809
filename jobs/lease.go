package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/opsbot/opsbot/store"
)

// A running job holds a lease: a KV entry naming the process that runs it,
// renewed while it runs and deleted when it ends. A job record that says
// "running" without a live lease was left by a process that died: on this
// host that is known at once (the process is gone), on another host when the
// lease runs out. That is how a restart after SIGKILL finds its interrupted
// jobs promptly, while a job running on another replica is left alone.

const leaseNS = "jobs.lease"

// owner identifies a process: host, pid and a random instance ID (a restarted
// container often gets the same pid again).
type owner struct {
	host     string
	pid      int
	instance string
}

func thisProcess() owner {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown"
	}
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return owner{host: host, pid: os.Getpid(), instance: hex.EncodeToString(b)}
}

// ownerJSON is how an owner is kept in a lease.
type ownerJSON struct {
	Host     string `json:"host"`
	PID      int    `json:"pid"`
	Instance string `json:"instance"`
}

func (o owner) String() string {
	b, _ := json.Marshal(ownerJSON{Host: o.host, PID: o.pid, Instance: o.instance}) // plain fields: cannot fail
	return string(b)
}

func parseOwner(s string) (owner, bool) {
	var o ownerJSON
	if err := json.Unmarshal([]byte(s), &o); err != nil || o.Instance == "" {
		return owner{}, false
	}
	return owner{host: o.Host, pid: o.PID, instance: o.Instance}, true
}

func leaseKey(id int64) string { return strconv.FormatInt(id, 10) }

// takeLease records that this process runs job id.
func (r *Runner) takeLease(ctx context.Context, id int64) error {
	if err := r.st.Put(ctx, leaseNS, leaseKey(id), r.owner.String(), r.clock.Now().Add(r.leaseTTL)); err != nil {
		return fmt.Errorf("job %d: lease: %w", id, err)
	}
	return nil
}

func (r *Runner) dropLease(ctx context.Context, id int64) {
	if err := r.st.Delete(context.WithoutCancel(ctx), leaseNS, leaseKey(id)); err != nil && !errors.Is(err, store.ErrNotFound) {
		r.log.Warn("drop job lease failed", "job", id, "err", err)
	}
}

// leaseState is what a job's lease says about the process running it.
type leaseState int

const (
	leaseNone leaseState = iota // no lease (never taken, released, or run out)
	leaseLive                   // held by a live process (this one or another)
	leaseDead                   // held by a process known to be gone
)

// lease reads job id's lease. A lease of this process counts as live only
// while the job is active here; one of another process on this host as long
// as that process exists; one from another host until it runs out.
func (r *Runner) lease(ctx context.Context, id int64) (leaseState, error) {
	v, err := r.st.Get(ctx, leaseNS, leaseKey(id), r.clock.Now())
	if errors.Is(err, store.ErrNotFound) {
		return leaseNone, nil
	}
	if err != nil {
		return leaseNone, fmt.Errorf("job %d: lease: %w", id, err)
	}
	o, ok := parseOwner(v)
	if !ok {
		return leaseDead, nil
	}
	alive := true
	switch {
	case o.instance == r.owner.instance:
		r.mu.Lock()
		_, alive = r.active[id]
		r.mu.Unlock()
	case o.host == r.owner.host && o.pid == r.owner.pid:
		alive = false // an earlier process that had our pid: it is gone
	case o.host == r.owner.host:
		alive = processAlive(o.pid)
	}
	if alive {
		return leaseLive, nil
	}
	return leaseDead, nil
}

// leaseHeld reports whether a live process holds job id's lease.
func (r *Runner) leaseHeld(ctx context.Context, id int64) (bool, error) {
	s, err := r.lease(ctx, id)
	return s == leaseLive, err
}

// processAlive reports whether a process with pid exists and is not a
// zombie (a killed child its parent has not waited for yet).
func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true // no /proc: the signal check is all there is
	}
	// The state follows the parenthesised command name: "123 (opsbot) Z …".
	if i := strings.LastIndexByte(string(stat), ')'); i >= 0 && i+2 < len(stat) {
		return stat[i+2] != 'Z' && stat[i+2] != 'X'
	}
	return true
}
