// Package heroku is the Heroku deployment provider, through the Platform
// API's Build resource: it packs the deployment's checkout into a source
// tarball, uploads it (POST /apps/{app}/sources, then PUT to put_url),
// creates a build from it (POST /apps/{app}/builds), streams the build's
// output_stream_url and reports the build's status.
package heroku

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/opsbot/opsbot/config"
	"github.com/opsbot/opsbot/deploy/provider"
)

// Config is an app's `heroku:` block.
type Config struct {
	App          string        `yaml:"app"`     // the Heroku app's name
	APIKey       config.Secret `yaml:"api_key"` // an API key or OAuth token
	APIURL       string        `yaml:"api_url"` // default https://api.heroku.com
	PollInterval time.Duration `yaml:"poll_interval"`
}

// Validate checks the block.
func (c *Config) Validate() error {
	switch {
	case c.App == "":
		return errors.New("heroku.app is required")
	case c.APIKey.Reveal() == "":
		return errors.New("heroku.api_key is required")
	}
	return nil
}

// Provider builds on Heroku.
type Provider struct {
	cfg  Config
	http *http.Client
}

// New returns the provider.
func New(cfg Config, hc *http.Client) (*Provider, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.APIURL == "" {
		cfg.APIURL = "https://api.heroku.com"
	}
	cfg.APIURL = strings.TrimSuffix(cfg.APIURL, "/")
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 2 * time.Second
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	return &Provider{cfg: cfg, http: hc}, nil
}

// Name is "heroku".
func (*Provider) Name() string { return "heroku" }

func (p *Provider) api(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, p.cfg.APIURL+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/vnd.heroku+json; version=3")
	req.Header.Set("Authorization", "Bearer "+p.cfg.APIKey.Reveal())
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := p.http.Do(req)
	if err != nil {
		return fmt.Errorf("heroku %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		var e struct {
			ID      string `json:"id"`
			Message string `json:"message"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&e)
		return fmt.Errorf("heroku %s %s: %s: %s", method, path, resp.Status, e.Message)
	}
	if out != nil {
		return json.NewDecoder(resp.Body).Decode(out)
	}
	return nil
}

// Deploy uploads the checkout and builds it.
func (p *Provider) Deploy(ctx context.Context, req provider.Request, out io.Writer) error {
	if req.Dir == "" {
		return errors.New("heroku needs a checkout of the commit: set the app's git_url")
	}
	tarball, err := Tarball(req.Dir)
	if err != nil {
		return fmt.Errorf("pack the source: %w", err)
	}
	app := "/apps/" + url.PathEscape(p.cfg.App)
	var src struct {
		SourceBlob struct {
			GetURL string `json:"get_url"`
			PutURL string `json:"put_url"`
		} `json:"source_blob"`
	}
	if err := p.api(ctx, http.MethodPost, app+"/sources", nil, &src); err != nil {
		return err
	}
	put, err := http.NewRequestWithContext(ctx, http.MethodPut, src.SourceBlob.PutURL, bytes.NewReader(tarball))
	if err != nil {
		return err
	}
	put.Header.Set("Content-Type", "") // the signed URL was signed without one
	resp, err := p.http.Do(put)
	if err != nil {
		return fmt.Errorf("upload the source: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("upload the source: %s", resp.Status)
	}
	fmt.Fprintf(out, "heroku: uploaded %d bytes of source\n", len(tarball))
	var build struct {
		ID              string `json:"id"`
		Status          string `json:"status"`
		OutputStreamURL string `json:"output_stream_url"`
	}
	version := req.SHA
	if version == "" {
		version = req.Ref
	}
	if err := p.api(ctx, http.MethodPost, app+"/builds", map[string]any{
		"source_blob": map[string]string{"url": src.SourceBlob.GetURL, "version": version},
	}, &build); err != nil {
		return err
	}
	fmt.Fprintf(out, "heroku: build %s %s\n", build.ID, build.Status)
	if build.OutputStreamURL != "" {
		if err := p.stream(ctx, build.OutputStreamURL, out); err != nil && ctx.Err() != nil {
			return context.Cause(ctx)
		}
	}
	for build.Status == "pending" {
		t := time.NewTimer(p.cfg.PollInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return context.Cause(ctx)
		case <-t.C:
		}
		if err := p.api(ctx, http.MethodGet, app+"/builds/"+url.PathEscape(build.ID), nil, &build); err != nil {
			return err
		}
	}
	if build.Status != "succeeded" {
		return fmt.Errorf("heroku build %s %s", build.ID, build.Status)
	}
	return nil
}

func (p *Provider) stream(ctx context.Context, u string, out io.Writer) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := p.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(out, resp.Body)
	return err
}

// Tarball packs dir (without .git) as a gzipped tar.
func Tarball(dir string) ([]byte, error) {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if rel == "." {
			return nil
		}
		if d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		link := ""
		if info.Mode()&os.ModeSymlink != 0 {
			if link, err = os.Readlink(path); err != nil {
				return err
			}
		}
		hdr, err := tar.FileInfoHeader(info, link)
		if err != nil {
			return err
		}
		hdr.Name = filepath.ToSlash(rel)
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if info.Mode().IsRegular() {
			f, err := os.Open(path)
			if err != nil {
				return err
			}
			defer f.Close()
			if _, err := io.Copy(tw, f); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := gz.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
