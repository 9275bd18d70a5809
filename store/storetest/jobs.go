package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/store"
)

func (su suite) testJobs(t *testing.T) {
	ctx := t.Context()
	s := su.store(t)

	jobs, err := s.ListJobs(ctx, store.JobFilter{})
	require.NoError(t, err)
	require.Empty(t, jobs)

	backup := store.Job{
		Kind: "command", Command: "backup", Args: map[string]string{"db": "main"}, UserName: "alice",
		Room: "slack:C1", ThreadRef: `{"ts":"1.2"}`, State: "running", Resumable: true, Started: t0,
		Payload: `{"step":1}`,
	}
	got, err := s.CreateJob(ctx, backup)
	require.NoError(t, err)
	require.NotZero(t, got.ID)
	backup.ID = got.ID
	require.Equal(t, backup, got)

	queued, err := s.CreateJob(ctx, store.Job{Kind: "command", Command: "report", Args: map[string]string{}})
	require.NoError(t, err)
	require.Equal(t, "queued", queued.State, "the default state")
	require.Nil(t, queued.Args)

	got, err = s.Job(ctx, backup.ID)
	require.NoError(t, err)
	require.Equal(t, backup, got)
	_, err = s.Job(ctx, backup.ID+queued.ID)
	require.ErrorIs(t, err, store.ErrNotFound)

	// UpdateJob writes State, Finished, ExitCode and Error only.
	update := store.Job{ID: backup.ID, State: "failed", Finished: t0.Add(time.Minute), ExitCode: 2,
		Error: "disk full", Command: "ignored", Payload: "ignored", Started: t0.Add(time.Hour)}
	require.NoError(t, s.UpdateJob(ctx, update))
	backup.State, backup.Finished, backup.ExitCode, backup.Error = "failed", t0.Add(time.Minute), 2, "disk full"
	got, err = s.Job(ctx, backup.ID)
	require.NoError(t, err)
	require.Equal(t, backup, got)
	require.ErrorIs(t, s.UpdateJob(ctx, store.Job{ID: backup.ID + queued.ID, State: "failed"}), store.ErrNotFound)

	third, err := s.CreateJob(ctx, store.Job{Kind: "command", Command: "x", State: "running"})
	require.NoError(t, err)

	tests := []struct {
		name   string
		filter store.JobFilter
		want   []store.Job
	}{
		{"all, newest first", store.JobFilter{}, []store.Job{third, queued, backup}},
		{"one state", store.JobFilter{States: []string{"running"}}, []store.Job{third}},
		{"states", store.JobFilter{States: []string{"queued", "failed"}}, []store.Job{queued, backup}},
		{"no match", store.JobFilter{States: []string{"succeeded"}}, nil},
		{"limit", store.JobFilter{Limit: 2}, []store.Job{third, queued}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.ListJobs(ctx, tt.filter)
			require.NoError(t, err)
			if tt.want == nil {
				require.Empty(t, got)
				return
			}
			require.Equal(t, tt.want, got)
		})
	}
}

func (su suite) testJobLogs(t *testing.T) {
	ctx := t.Context()
	s := su.store(t)
	job, err := s.CreateJob(ctx, store.Job{Kind: "command", Command: "x"})
	require.NoError(t, err)
	other, err := s.CreateJob(ctx, store.Job{Kind: "command", Command: "y"})
	require.NoError(t, err)
	missing := job.ID + other.ID

	log, err := s.JobLog(ctx, job.ID)
	require.NoError(t, err)
	require.Empty(t, log)
	_, err = s.JobLog(ctx, missing)
	require.ErrorIs(t, err, store.ErrNotFound)
	require.ErrorIs(t, s.AppendJobLog(ctx, missing, []byte("x")), store.ErrNotFound)

	chunks := [][]byte{[]byte("line 1\n"), {0, 0xff, 0xfe, '\n'}, nil, []byte("last")}
	for i, c := range chunks {
		require.NoError(t, s.AppendJobLog(ctx, job.ID, c))
		require.NoError(t, s.AppendJobLog(ctx, other.ID, []byte{byte('a' + i)}))
	}
	log, err = s.JobLog(ctx, job.ID)
	require.NoError(t, err)
	require.Equal(t, []byte("line 1\n\x00\xff\xfe\nlast"), log)
	log, err = s.JobLog(ctx, other.ID)
	require.NoError(t, err)
	require.Equal(t, []byte("abcd"), log)
}
