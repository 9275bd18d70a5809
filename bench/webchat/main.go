// Command webchat measures the web chat path end to end: a message posted
// over HTTP by a logged-in user, handled by the bot, and its reply pushed to
// the browser's server-sent event stream. Each of -clients clients has its
// own room and event stream, and sends "ping" and waits for "pong" in a loop.
//
//	go build -o bin/opsbot ./cmd/opsbot && go run ./bench/webchat -bin bin/opsbot -clients 100 -duration 20s
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/opsbot/opsbot/bench/internal/webclient"
)

func main() {
	bin := flag.String("bin", "bin/opsbot", "opsbot binary")
	clients := flag.Int("clients", 100, "concurrent clients (one room and event stream each)")
	duration := flag.Duration("duration", 20*time.Second, "how long to send")
	flag.Parse()
	s, err := webclient.Start(*bin)
	if err != nil {
		fail(err)
	}
	defer s.Stop()
	ss, err := s.Login("admin", s.Password)
	if err != nil {
		fail(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *duration)
	defer cancel()
	var mu sync.Mutex
	var lat []time.Duration
	var wg sync.WaitGroup
	errs := make(chan error, *clients)
	ready := sync.WaitGroup{}
	ready.Add(*clients)
	for i := 0; i < *clients; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			d, err := client(ctx, s, ss, fmt.Sprintf("bench-%d", i), &ready)
			if err != nil {
				errs <- err
			}
			mu.Lock()
			lat = append(lat, d...)
			mu.Unlock()
		}(i)
	}
	start := time.Now()
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	for err := range errs {
		fail(err)
	}
	slices.Sort(lat)
	if len(lat) == 0 {
		fail(fmt.Errorf("no replies"))
	}
	p := func(q float64) time.Duration { return lat[int(float64(len(lat)-1)*q)].Round(100 * time.Microsecond) }
	fmt.Printf("%d clients, %s: %d round trips, %.0f replies/s; latency p50 %v  p90 %v  p99 %v  max %v\n",
		*clients, elapsed.Round(time.Millisecond), len(lat), float64(len(lat))/elapsed.Seconds(), p(.5), p(.9), p(.99), lat[len(lat)-1])
}

type wire struct {
	Bot  bool   `json:"bot"`
	Text string `json:"text"`
}

// client opens room's event stream and sends ping/waits for pong until ctx ends.
func client(ctx context.Context, s *webclient.Server, ss *webclient.Session, room string, ready *sync.WaitGroup) ([]time.Duration, error) {
	if err := ss.Post(s.URL+"/rooms", url.Values{"name": {room}}); err != nil {
		ready.Done()
		return nil, err
	}
	sctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(sctx, "GET", s.URL+"/rooms/"+room+"/events", nil)
	stream := &http.Client{Jar: ss.HTTP.Jar}
	resp, err := stream.Do(req)
	if err != nil {
		ready.Done()
		return nil, err
	}
	defer resp.Body.Close()
	replies := make(chan struct{}, 16)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			data, ok := strings.CutPrefix(sc.Text(), "data: ")
			if !ok {
				continue
			}
			var w wire
			if json.Unmarshal([]byte(data), &w) == nil && w.Bot && strings.Contains(w.Text, "pong") {
				replies <- struct{}{}
			}
		}
		close(replies)
	}()
	ready.Done()
	ready.Wait()
	var lat []time.Duration
	for ctx.Err() == nil {
		t0 := time.Now()
		if err := ss.Post(s.URL+"/rooms/"+room+"/messages", url.Values{"text": {"ping"}}); err != nil {
			return lat, err
		}
		select {
		case _, ok := <-replies:
			if !ok {
				return lat, fmt.Errorf("%s: event stream ended", room)
			}
			lat = append(lat, time.Since(t0))
		case <-time.After(30 * time.Second):
			return lat, fmt.Errorf("%s: no pong within 30s", room)
		}
	}
	return lat, nil
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "webchat:", err)
	os.Exit(1)
}
