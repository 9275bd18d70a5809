package fleet

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestResolve(t *testing.T) {
	ins := []Instance{
		{Name: "roi-blue", App: "roi", Role: "blue", Env: "production", Icon: ":large_blue_circle:"},
		{Name: "roi-green", App: "roi", Role: "green", Env: "production", Icon: ":green_circle:"},
		{Name: "roi-cron", App: "roi", Role: "cron", Env: "production", Aliases: []string{"scheduler"}},
		{Name: "shop-blue", App: "shop", Role: "blue", Env: "staging"},
		{Name: "toy", Aliases: []string{"toy database", "sandbox"}},
	}
	appAliases := func(app string) []string {
		if app == "roi" {
			return []string{"master", "rh", "roi hunter"}
		}
		return nil
	}
	activeColour := "blue"
	active := func(_ context.Context, in Instance) (bool, error) {
		if in.App == "shop" {
			return false, errors.New("load balancer unreachable")
		}
		return in.App == "roi" && in.Role == activeColour, nil
	}
	tests := []struct {
		text, want string
		amb        []string // ambiguous candidates
		unknown    bool
		errText    string
	}{
		{text: "roi-blue", want: "roi-blue"},
		{text: "ROI-GREEN", want: "roi-green"},
		{text: "master blue", want: "roi-blue"},
		{text: "blue master", want: "roi-blue"},
		{text: "blue rh", want: "roi-blue"},
		{text: "roi hunter green", want: "roi-green"},
		{text: "green roi hunter", want: "roi-green"},
		{text: "the blue instance of master", want: "roi-blue"},
		{text: ":green_circle:", want: "roi-green"},
		{text: "scheduler", want: "roi-cron"},
		{text: "master cron", want: "roi-cron"},
		{text: "toy database", want: "toy"},
		{text: "sandbox", want: "toy"},
		{text: "master active", want: "roi-blue"},
		{text: "active rh", want: "roi-blue"},
		{text: "live master", want: "roi-blue"},
		{text: "production green", want: "roi-green"},
		{text: "staging", want: "shop-blue"},
		{text: "master", amb: []string{"roi-blue", "roi-green", "roi-cron"}},
		{text: "blue", amb: []string{"roi-blue", "shop-blue"}},
		{text: "master inactive", amb: []string{"roi-green", "roi-cron"}},
		{text: "hunter roi", unknown: true}, // a phrase's words in the wrong order are not the phrase
		{text: "master purple", unknown: true},
		{text: "", unknown: true},
		{text: "active sandbox", errText: `no active instance matches "sandbox"`},
		{text: "shop active", errText: "cannot tell whether shop-blue is active: load balancer unreachable"},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			in, err := Resolve(context.Background(), tt.text, ins, appAliases, active)
			switch {
			case tt.amb != nil:
				var amb *ErrAmbiguous
				require.ErrorAs(t, err, &amb)
				assert.Equal(t, tt.amb, amb.Candidates)
				assert.Contains(t, err.Error(), "matches several instances")
			case tt.unknown:
				var unk *ErrUnknown
				require.ErrorAs(t, err, &unk)
				assert.Contains(t, err.Error(), "is not a known instance (known: roi-blue, roi-green, roi-cron, shop-blue, toy)")
			case tt.errText != "":
				require.Error(t, err)
				assert.Equal(t, tt.errText, err.Error())
			default:
				require.NoError(t, err)
				assert.Equal(t, tt.want, in.Name)
			}
		})
	}
}

func TestWords(t *testing.T) {
	assert.Equal(t, []string{"tasks", "master", "blue"}, words("  Tasks, master/BLUE "))
	assert.Equal(t, []string{":green_circle:", "api-1"}, words(`":green_circle:" (api-1)`))
}
