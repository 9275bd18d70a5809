// Command startup measures how long `opsbot serve` takes from exec to the
// first 200 on /readyz: store opened and migrated, modules provisioned.
//
//	go build -o bin/opsbot ./cmd/opsbot && go run ./bench/startup -bin bin/opsbot -runs 20
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"time"
)

func main() {
	bin := flag.String("bin", "bin/opsbot", "opsbot binary")
	runs := flag.Int("runs", 20, "number of starts")
	fresh := flag.Bool("fresh", false, "start each run on an empty data directory (first start: migrations)")
	flag.Parse()
	abs, err := filepath.Abs(*bin)
	if err != nil {
		fail(err)
	}
	dir, err := os.MkdirTemp("", "opsbot-startup-")
	if err != nil {
		fail(err)
	}
	defer os.RemoveAll(dir)
	var times []time.Duration
	for i := 0; i < *runs; i++ {
		data := filepath.Join(dir, "data")
		if *fresh {
			data = filepath.Join(dir, fmt.Sprintf("data%d", i))
		}
		d, err := once(abs, dir, data)
		if err != nil {
			fail(err)
		}
		times = append(times, d)
		fmt.Printf("\rrun %d/%d: %v   ", i+1, *runs, d.Round(time.Microsecond))
	}
	fmt.Println()
	slices.Sort(times)
	fmt.Printf("exec → /readyz 200 over %d runs (fresh data dir: %t): min %v  median %v  p95 %v  max %v\n",
		len(times), *fresh, times[0].Round(time.Microsecond), times[len(times)/2].Round(time.Microsecond),
		times[len(times)*95/100].Round(time.Microsecond), times[len(times)-1].Round(time.Microsecond))
}

func once(bin, dir, data string) (time.Duration, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(bin, "serve", "--listen", addr, "--data", data)
	cmd.Dir = dir
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	client := &http.Client{Timeout: time.Second}
	deadline := start.Add(10 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := client.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Since(start), nil
			}
		}
		time.Sleep(500 * time.Microsecond)
	}
	return 0, fmt.Errorf("not ready after 10s")
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "startup:", err)
	os.Exit(1)
}
