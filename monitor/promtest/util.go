package promtest

import (
	"io"
	"net/http"
	"net/url"
	"strings"
)

func urlQuery(q string) string { return url.QueryEscape(q) }

func ioCopy(w *strings.Builder, resp *http.Response) (int64, error) {
	defer resp.Body.Close()
	return io.Copy(w, resp.Body)
}
