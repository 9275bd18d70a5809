package command

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestEnumFuncOffersCurrentValues(t *testing.T) {
	hosts := []string{"web1", "web2"}
	types := NewTypes()
	require.NoError(t, types.Register(EnumFunc("host", func(context.Context) ([]string, error) { return hosts, nil })))
	m := NewMatcher(types)
	require.NoError(t, m.Add(&Spec{Name: "restart", Grammar: "restart {host:host}", Run: func(context.Context, *Call) error { return nil }}))
	ctx := context.Background()

	r := m.Match(ctx, "restart WEB2")
	require.Equal(t, "web2", r.Args["host"], "normalised to the listed spelling")

	r = m.Match(ctx, "restart")
	require.NotNil(t, r.Missing)
	require.Equal(t, []string{"web1", "web2"}, r.Choices)

	hosts = append(hosts, "web3")
	r = m.Match(ctx, "restart web3")
	require.Nil(t, r.Invalid, "values are read on each use")
	r = m.Match(ctx, "restart db1")
	require.ErrorContains(t, r.Invalid, `"db1" is not a known host`)
}
