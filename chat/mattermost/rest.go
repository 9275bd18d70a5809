package mattermost

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strconv"
	"time"

	"github.com/opsbot/opsbot/chat"
)

// apiError is a refusal from the REST API.
type apiError struct {
	Status int
	ID     string // Mattermost's error id, "api.context.permissions.app_error"
	Msg    string
}

func (e *apiError) Error() string {
	if e.ID != "" {
		return fmt.Sprintf("mattermost: HTTP %d %s: %s", e.Status, e.ID, e.Msg)
	}
	return fmt.Sprintf("mattermost: HTTP %d: %s", e.Status, e.Msg)
}

// call sends a JSON request to /api/v4+path and decodes the answer into out
// (when not nil).
func (a *Adapter) call(ctx context.Context, method, path string, body, out any) error {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("mattermost: encode %s %s: %w", method, path, err)
		}
		r = bytes.NewReader(b)
	}
	return a.do(ctx, method, path, "application/json", r, out)
}

// upload sends one file as multipart/form-data to POST /files.
func (a *Adapter) upload(ctx context.Context, channelID, name string, data []byte) (string, error) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	if err := w.WriteField("channel_id", channelID); err != nil {
		return "", err
	}
	fw, err := w.CreateFormFile("files", name)
	if err != nil {
		return "", err
	}
	if _, err := fw.Write(data); err != nil {
		return "", err
	}
	if err := w.Close(); err != nil {
		return "", err
	}
	var res fileUploadResponse
	if err := a.do(ctx, http.MethodPost, "/files", w.FormDataContentType(), &buf, &res); err != nil {
		return "", err
	}
	if len(res.FileInfos) != 1 {
		return "", fmt.Errorf("mattermost: upload: %d file infos in the answer, want 1", len(res.FileInfos))
	}
	return res.FileInfos[0].ID, nil
}

func (a *Adapter) do(ctx context.Context, method, path, contentType string, body io.Reader, out any) error {
	ctx, cancel := context.WithTimeout(ctx, a.cfg.RequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, a.cfg.URL+"/api/v4"+path, body)
	if err != nil {
		return fmt.Errorf("mattermost: %s %s: %w", method, path, err)
	}
	req.Header.Set("Authorization", "Bearer "+a.cfg.Token.Reveal())
	req.Header.Set("X-Requested-With", "XMLHttpRequest")
	if body != nil {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return fmt.Errorf("mattermost: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return fmt.Errorf("mattermost: %s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		return responseError(method, path, resp, data)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("mattermost: %s %s: decode answer: %w", method, path, err)
	}
	return nil
}

// responseError turns a refusal into an error: 429 is a chat.RateLimitError
// (waiting Retry-After, else X-Ratelimit-Reset seconds), other 4xx but 408
// are permanent, 5xx are worth retrying.
func responseError(method, path string, resp *http.Response, data []byte) error {
	e := &apiError{Status: resp.StatusCode}
	var ae appError
	if json.Unmarshal(data, &ae) == nil && (ae.ID != "" || ae.Message != "") {
		e.ID, e.Msg = ae.ID, ae.Message
	} else {
		e.Msg = string(bytes.TrimSpace(data[:min(len(data), 200)]))
	}
	wrapped := fmt.Errorf("%s %s: %w", method, path, e)
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		return &chat.RateLimitError{RetryAfter: retryAfter(resp.Header), Err: wrapped}
	case resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != http.StatusRequestTimeout:
		return fmt.Errorf("%w: %w", chat.ErrPermanent, wrapped)
	}
	return wrapped
}

// retryAfter reads how long a 429 asks to wait.
func retryAfter(h http.Header) time.Duration {
	for _, key := range []string{"Retry-After", "X-Ratelimit-Reset"} {
		if n, err := strconv.Atoi(h.Get(key)); err == nil && n >= 0 {
			return time.Duration(n) * time.Second
		}
	}
	return 0
}

// isStatus reports whether err is an API refusal with the given status.
func isStatus(err error, status int) bool {
	var e *apiError
	return errors.As(err, &e) && e.Status == status
}
