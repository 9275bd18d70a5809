package scripts

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/opsbot/opsbot/clock"
)

// request is an HTTP action to send.
type request struct {
	method  string
	url     string
	headers http.Header
	body    string
	timeout time.Duration
	clock   clock.Clock
	client  *http.Client
}

// send sends the request and feeds the response body to out as it comes.
// The outcome's exitCode is the HTTP status (0 if there was no response).
func (q request) send(ctx context.Context, out func([]byte)) (outcome, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	errTimeout := errors.New("timeout")
	if q.timeout > 0 {
		stop := make(chan struct{})
		defer close(stop)
		expired := q.clock.After(q.timeout)
		go func() {
			select {
			case <-expired:
				cancel(errTimeout)
			case <-stop:
			}
		}()
	}
	var body io.Reader
	if q.body != "" {
		body = strings.NewReader(q.body)
	}
	req, err := http.NewRequestWithContext(ctx, q.method, q.url, body)
	if err != nil {
		return outcome{}, fmt.Errorf("request: %w", err)
	}
	req.Header = q.headers.Clone()
	if req.Header == nil {
		req.Header = http.Header{}
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", "opsbot")
	}
	start := q.clock.Now()
	o := outcome{}
	finish := func(err error) (outcome, error) {
		o.duration = q.clock.Now().Sub(start)
		if ctx.Err() != nil {
			if errors.Is(context.Cause(ctx), errTimeout) {
				o.timedOut = true
			} else {
				o.cancelled = true
			}
			return o, nil
		}
		return o, err
	}
	resp, err := q.client.Do(req)
	if err != nil {
		// *url.Error's text repeats the whole URL: name it without its query.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return finish(fmt.Errorf("%s %s: %w", q.method, redactURL(q.url), err))
	}
	defer resp.Body.Close()
	o.exitCode = resp.StatusCode
	buf := make([]byte, 32*1024)
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			out(buf[:n])
		}
		if errors.Is(err, io.EOF) {
			return finish(nil)
		}
		if err != nil {
			return finish(fmt.Errorf("read response: %w", err))
		}
	}
}

// redactURL drops the query and user info of a URL for messages: they are
// where credentials hide.
func redactURL(u string) string {
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		u = u[:i]
	}
	if scheme, rest, ok := strings.Cut(u, "://"); ok {
		if at := strings.IndexByte(rest, '@'); at >= 0 && at < strings.IndexByte(rest+"/", '/') {
			rest = rest[at+1:]
		}
		return scheme + "://" + rest
	}
	return u
}
