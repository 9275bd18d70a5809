// Command schedules loads the scheduler: N schedules firing once a minute
// at random second offsets, and M monitors checked every 30 s against a
// fake Prometheus source, on SQLite (or -database), for a while in real
// time; it prints the firing delay (actual minus scheduled start), CPU and
// RSS.
//
//	go run ./bench/schedules -schedules 10000 -monitors 1000 -for 3m
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/opsbot/opsbot/event"
	"github.com/opsbot/opsbot/monitor"
	"github.com/opsbot/opsbot/schedule"
	"github.com/opsbot/opsbot/store/sqlstore"
)

func main() {
	nSched := flag.Int("schedules", 10000, "schedules firing once a minute")
	nMon := flag.Int("monitors", 1000, "monitors checked every 30s")
	dur := flag.Duration("for", 3*time.Minute, "how long to run (real time)")
	warm := flag.Duration("warmup", 30*time.Second, "firings scheduled before this are not counted")
	dbURL := flag.String("database", "", "database URL (default: SQLite in a temp dir)")
	keep := flag.Duration("keep", 24*time.Hour, "how long firing records are kept (pruned once a minute)")
	flag.Parse()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	dir, err := os.MkdirTemp("", "opsbot-bench-schedules-")
	check(err)
	defer os.RemoveAll(dir)
	st, err := sqlstore.Open(ctx, *dbURL, dir)
	check(err)
	defer st.Close()
	check(st.Migrate(ctx))

	// The fake source: a Prometheus query API answering a one-series vector.
	src := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"job":"api"},"value":[%d,"%d"]}]}}`,
			time.Now().Unix(), rand.IntN(10))
	}))
	defer src.Close()
	cfg := monitor.Config{Sources: map[string]monitor.SourceConfig{"prom": {Type: "prometheus", URL: src.URL}}}
	above := 8.0
	for i := 0; i < *nMon; i++ {
		cfg.Checks = append(cfg.Checks, monitor.Check{Name: fmt.Sprintf("m%04d", i), Source: "prom", Query: "up", Above: &above})
	}
	var emitted atomic.Int64
	quiet := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	runner, err := monitor.NewRunner(cfg, monitor.Options{DB: st.DB(), Logger: quiet,
		Emit: func(context.Context, event.Event) error { emitted.Add(1); return nil }})
	check(err)

	var mu sync.Mutex
	var delays []time.Duration
	var checkErrs atomic.Int64
	start := time.Now().Add(2 * time.Second) // first firings from 2 s on
	counted := time.Now().Add(*warm)
	s := schedule.New(schedule.Options{DB: st.DB(), Logger: quiet, Workers: 64, Keep: *keep,
		Run: func(ctx context.Context, e schedule.Entry, at time.Time) error {
			if name, ok := strings.CutPrefix(e.ID, "mon/"); ok {
				if err := runner.Check(ctx, name); err != nil {
					checkErrs.Add(1)
					return err
				}
			}
			return nil
		},
		Fired: func(_ string, at, started time.Time) {
			if at.Before(counted) {
				return
			}
			mu.Lock()
			delays = append(delays, started.Sub(at))
			mu.Unlock()
		},
	})
	t0 := time.Now()
	for i := 0; i < *nSched; i++ {
		anchor := start.Add(-time.Minute).Add(time.Duration(rand.Int64N(int64(time.Minute))))
		_, err := s.Put(ctx, schedule.Entry{ID: fmt.Sprintf("s%05d", i), Owner: "bench", When: "every 1m", Anchor: anchor, Action: `{}`})
		check(err)
	}
	for i := 0; i < *nMon; i++ {
		anchor := start.Add(-time.Minute).Add(time.Duration(rand.Int64N(int64(30 * time.Second))))
		_, err := s.Put(ctx, schedule.Entry{ID: fmt.Sprintf("mon/m%04d", i), Owner: "bench", When: "every 30s", Anchor: anchor, Action: `{}`})
		check(err)
	}
	fmt.Printf("created %d schedules and %d monitor schedules in %s\n", *nSched, *nMon, time.Since(t0).Round(time.Millisecond))

	var before syscall.Rusage
	check(syscall.Getrusage(syscall.RUSAGE_SELF, &before))
	runStart := time.Now()
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var peakHeap uint64
	tick := time.NewTicker(time.Second)
	end := time.After(*dur)
loop:
	for {
		select {
		case <-tick.C:
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			peakHeap = max(peakHeap, ms.HeapAlloc)
		case <-end:
			break loop
		}
	}
	cancel()
	check(<-done)
	elapsed := time.Since(runStart)
	var after syscall.Rusage
	check(syscall.Getrusage(syscall.RUSAGE_SELF, &after))
	cpu := tv(after.Utime) + tv(after.Stime) - tv(before.Utime) - tv(before.Stime)

	mu.Lock()
	slices.Sort(delays)
	n := len(delays)
	mu.Unlock()
	if n == 0 {
		fmt.Println("no firings measured")
		os.Exit(1)
	}
	pct := func(p float64) time.Duration { return delays[min(n-1, int(float64(n)*p))] }
	fmt.Printf("ran %s: %d firings measured (after a %s warm-up), %.0f/s\n", elapsed.Round(time.Second), n, *warm, float64(n)/(elapsed-*warm).Seconds())
	fmt.Printf("firing delay: p50 %s  p90 %s  p99 %s  max %s\n", pct(.50).Round(time.Microsecond), pct(.90).Round(time.Microsecond),
		pct(.99).Round(time.Microsecond), delays[n-1].Round(time.Microsecond))
	fmt.Printf("monitor checks failed: %d, monitor events emitted: %d\n", checkErrs.Load(), emitted.Load())
	fmt.Printf("CPU: %.1f s over %s = %.0f%% of one core (machine: %d cores)\n", cpu.Seconds(), elapsed.Round(time.Second), 100*cpu.Seconds()/elapsed.Seconds(), runtime.NumCPU())
	fmt.Printf("max RSS: %d MiB, peak Go heap: %d MiB\n", after.Maxrss/1024, peakHeap>>20)
	var kept int
	check(st.DB().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM schedule_firings`).Scan(&kept))
	fmt.Printf("firing records kept: %d (keep %s)\n", kept, *keep)
}

func tv(t syscall.Timeval) time.Duration {
	return time.Duration(t.Sec)*time.Second + time.Duration(t.Usec)*time.Microsecond
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}
