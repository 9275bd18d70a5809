package hooks

import (
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/opsbot/opsbot/event"
)

var badLabelChars = regexp.MustCompile(`[^A-Za-z0-9_.-]`)

// Fit makes a parsed event fit the event log's limits instead of losing the
// delivery: a vendor cannot fix its payload, so a long text is cut (with a
// marker), label names are made valid, links that are not absolute http(s)
// URLs are dropped, and an over-long fingerprint is hashed.
func Fit(e *event.Event) {
	e.Title = cut(e.Title, event.MaxTitle, "…")
	e.Text = cut(e.Text, event.MaxText, "\n… (cut: over the size limit)")
	if len(e.Labels) > 0 {
		labels := make(map[string]string, len(e.Labels))
		keys := sortedKeys(e.Labels)
		for _, k := range keys {
			name := labelName(k)
			if name == "" {
				continue
			}
			if _, dup := labels[name]; dup {
				continue
			}
			if len(labels) == event.MaxLabels {
				break
			}
			labels[name] = cut(e.Labels[k], event.MaxLabelValue, "…")
		}
		if v, ok := e.Labels[LabelSourceSeverity]; ok {
			labels[LabelSourceSeverity] = cut(v, event.MaxLabelValue, "…")
		}
		e.Labels = labels
	}
	if len(e.Fields) > 0 {
		fields := make(map[string]string, len(e.Fields))
		for _, k := range sortedKeys(e.Fields) {
			if k == "" || len(k) > event.MaxFieldName || len(fields) == event.MaxFields {
				continue
			}
			fields[strings.ToValidUTF8(k, "?")] = cut(e.Fields[k], event.MaxFieldValue, "…")
		}
		e.Fields = fields
	}
	var links []event.Link
	for _, l := range e.Links {
		u, err := url.Parse(l.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(l.URL) > event.MaxURL {
			continue
		}
		if len(links) == event.MaxLinks {
			break
		}
		l.Title = cut(l.Title, event.MaxLinkTitle, "…")
		links = append(links, l)
	}
	e.Links = links
	e.Room = cut(e.Room, event.MaxRoom, "")
	if len(e.Fingerprint) > event.MaxFingerprint || !utf8.ValidString(e.Fingerprint) {
		sum := sha256.Sum256([]byte(e.Fingerprint))
		e.Fingerprint = "sha256:" + hex.EncodeToString(sum[:])
	}
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// labelName makes a label name valid: a letter or '_', then letters,
// digits, '_', '.' or '-'.
func labelName(k string) string {
	k = badLabelChars.ReplaceAllString(strings.TrimSpace(k), "_")
	if k == "" {
		return ""
	}
	if c := k[0]; !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
		k = "_" + k
	}
	if len(k) > event.MaxLabelName {
		k = k[:event.MaxLabelName]
	}
	return k
}

// cut shortens s to at most limit bytes (valid UTF-8), ending with mark.
func cut(s string, limit int, mark string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= limit {
		return s
	}
	n := limit - len(mark)
	if n < 0 {
		n = 0
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + mark
}
