package shell_test

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/chat/shell"
)

func shellRoom(name string) chat.Room { return chat.Room{Adapter: "shell", ID: name, Name: name} }

func TestPostOutput(t *testing.T) {
	tests := []struct {
		name string
		post chat.Post
		want string
	}{
		{"one line", chat.Post{Text: "pong"}, "[ops] opsbot: pong (#1)\n"},
		{"empty", chat.Post{}, "[ops] opsbot: (#1)\n"},
		{"lines are indented", chat.Post{Text: "a\n\n  b"}, "[ops] opsbot: a (#1)\n  \n    b\n"},
		{"text starting on the second line", chat.Post{Text: "\nb"}, "[ops] opsbot: (#1)\n  b\n"},
		{
			"rich parts the sender did not fold",
			chat.Post{
				Text:     "deploy",
				Mentions: []string{"alice", "bob"},
				Fields:   []chat.Field{{Name: "Env", Value: "prod"}},
				Links:    []chat.Link{{Title: "Log", URL: "https://ci/1"}, {URL: "https://bare"}},
				Image:    &chat.Image{URL: "https://img/1.png"},
				Buttons:  []chat.Button{{Label: "Approve", Value: "yes 1"}},
			},
			"[ops] opsbot: @alice @bob deploy (#1)\n" +
				"  Env: prod\n  Log: https://ci/1\n  https://bare\n  https://img/1.png\n  [Approve] sends: yes 1\n",
		},
		{"markup is printed as given", chat.Post{Text: "*bold*"}, "[ops] opsbot: *bold* (#1)\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := &syncBuffer{}
			a := shell.New(shell.Options{Out: out})
			ref, err := a.Post(context.Background(), shellRoom("ops"), tt.post)
			require.NoError(t, err)
			assert.Equal(t, chat.Ref{Room: shellRoom("ops"), ID: "1"}, ref)
			assert.Equal(t, tt.want, out.String())
		})
	}
}

func TestThreadsAndEdits(t *testing.T) {
	ctx := context.Background()
	out := &syncBuffer{}
	a := shell.New(shell.Options{Out: out, BotName: "hal"})
	root, err := a.Post(ctx, shellRoom("ops"), chat.Post{Text: "deploying api"})
	require.NoError(t, err)
	step, err := a.PostInThread(ctx, root, chat.Post{Text: "step 1"})
	require.NoError(t, err)
	assert.Equal(t, chat.Ref{Room: shellRoom("ops"), ID: "2", Thread: "1"}, step)
	// A reply to a reply is in the root's thread; a parent without room is found by its ID.
	deeper, err := a.PostInThread(ctx, chat.Ref{ID: step.ID}, chat.Post{Text: "step 2"})
	require.NoError(t, err)
	assert.Equal(t, "1", deeper.Thread)
	assert.Equal(t, "ops", deeper.Room.ID)
	require.NoError(t, a.Update(ctx, step, chat.Post{Text: "step 1 done"}))
	require.NoError(t, a.Update(ctx, root, chat.Post{Text: "deployed api\nin 3m"}))

	assert.Equal(t, ""+
		"[ops] hal: deploying api (#1)\n"+
		"[ops #1] hal: step 1 (#2)\n"+
		"[ops #1] hal: step 2 (#3)\n"+
		"(edited #2) [ops #1] hal: step 1 done\n"+
		"(edited #1) [ops] hal: deployed api\n  in 3m\n", out.String())

	printed := shell.ParseTranscript(out.String())
	assert.Equal(t, []shell.Printed{
		{Room: "ops", ID: "1", Text: "deploying api"},
		{Room: "ops", Thread: "1", ID: "2", Text: "step 1"},
		{Room: "ops", Thread: "1", ID: "3", Text: "step 2"},
		{Room: "ops", Thread: "1", ID: "2", Text: "step 1 done", Edited: true},
		{Room: "ops", ID: "1", Text: "deployed api\nin 3m", Edited: true},
	}, printed)
	assert.Equal(t, []string{"deployed api\nin 3m", "step 1 done", "step 2"}, shell.Seen(printed, "ops"))
	assert.Empty(t, shell.Seen(printed, "dev"))
}

func TestPostErrors(t *testing.T) {
	ctx := context.Background()
	a := shell.New(shell.Options{Out: &syncBuffer{}})
	err := a.Update(ctx, chat.Ref{Room: shellRoom("ops"), ID: "7"}, chat.Post{Text: "x"})
	require.ErrorIs(t, err, chat.ErrPermanent)
	_, err = a.PostInThread(ctx, chat.Ref{ID: "7"}, chat.Post{Text: "x"})
	require.ErrorIs(t, err, chat.ErrPermanent)
	_, err = a.Post(ctx, chat.Room{Adapter: "shell"}, chat.Post{Text: "x"})
	require.ErrorIs(t, err, chat.ErrPermanent)

	canceled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = a.Post(canceled, shellRoom("ops"), chat.Post{Text: "x"})
	require.ErrorIs(t, err, context.Canceled)
}

func TestParseTranscript(t *testing.T) {
	tests := []struct {
		name string
		out  string
		want []shell.Printed
	}{
		{"nothing", "", nil},
		{"shell lines are skipped", "* you are in room ops\n* /help\n", nil},
		{
			"indented lines after a shell line are not a post's",
			"[ops] opsbot: a (#1)\n* note\n  stray\n",
			[]shell.Printed{{Room: "ops", ID: "1", Text: "a"}},
		},
		{
			"text ending in something like an ID",
			"[ops] opsbot: see (#4) (#5)\r\n",
			[]shell.Printed{{Room: "ops", ID: "5", Text: "see (#4)"}},
		},
		{"a header without ID is no post", "[ops] opsbot: hi\n", nil},
		{
			"room names with dashes and dots",
			"[team-a.ops #12] opsbot: x (#13)\n",
			[]shell.Printed{{Room: "team-a.ops", Thread: "12", ID: "13", Text: "x"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, shell.ParseTranscript(tt.out))
		})
	}
}

func TestConcurrentPosts(t *testing.T) {
	out := &syncBuffer{}
	a := shell.New(shell.Options{Out: out})
	var wg sync.WaitGroup
	for g := range 10 {
		wg.Go(func() {
			for i := range 20 {
				_, err := a.Post(context.Background(), shellRoom(fmt.Sprintf("r%d", g)), chat.Post{Text: fmt.Sprintf("%d\nline two", i)})
				assert.NoError(t, err)
			}
		})
	}
	wg.Wait()
	printed := shell.ParseTranscript(out.String())
	require.Len(t, printed, 200)
	next := map[string]int{}
	for i, p := range printed {
		assert.Equal(t, strconv.Itoa(i+1), p.ID, "posts print in number order")
		assert.Equal(t, fmt.Sprintf("%d\nline two", next[p.Room]), p.Text, "posts of one room print in order, whole")
		next[p.Room]++
	}
}
