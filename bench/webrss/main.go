// Command webrss measures the memory of `opsbot serve` with the web console:
// VmRSS after start and after 20 logins (bcrypt at the default cost).
//
//	go build -o bin/opsbot ./cmd/opsbot && go run ./bench/webrss -bin bin/opsbot
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/opsbot/opsbot/bench/internal/webclient"
)

func main() {
	bin := flag.String("bin", "bin/opsbot", "opsbot binary")
	logins := flag.Int("logins", 20, "number of logins")
	flag.Parse()
	s, err := webclient.Start(*bin)
	if err != nil {
		fail(err)
	}
	defer s.Stop()
	time.Sleep(500 * time.Millisecond) // let start-up garbage settle, as a user would arrive later
	start, err := s.RSS()
	if err != nil {
		fail(err)
	}
	t0 := time.Now()
	for i := 0; i < *logins; i++ {
		if _, err := s.Login("admin", s.Password); err != nil {
			fail(err)
		}
	}
	took := time.Since(t0)
	after, err := s.RSS()
	if err != nil {
		fail(err)
	}
	fmt.Printf("VmRSS after start: %.1f MiB; after %d logins: %.1f MiB (%.0f ms per login)\n",
		float64(start)/1024, *logins, float64(after)/1024, float64(took.Milliseconds())/float64(*logins))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "webrss:", err)
	os.Exit(1)
}
