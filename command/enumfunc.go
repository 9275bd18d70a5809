package command

import (
	"context"
	"fmt"
	"strings"
)

// EnumFunc returns a type whose values come from a function, called on each
// use: the apps, environments or instances a module knows at that moment.
// Values match case-insensitively and normalise to the listed spelling.
func EnumFunc(name string, values func(ctx context.Context) ([]string, error)) Type {
	return enumFunc{name: name, values: values}
}

type enumFunc struct {
	name   string
	values func(ctx context.Context) ([]string, error)
}

func (e enumFunc) Name() string { return e.name }

func (e enumFunc) Values(ctx context.Context) ([]string, error) { return e.values(ctx) }

func (e enumFunc) Parse(ctx context.Context, s string) (string, error) {
	vals, err := e.values(ctx)
	if err != nil {
		return "", fmt.Errorf("cannot list %s values: %w", e.name, err)
	}
	for _, v := range vals {
		if strings.EqualFold(s, v) {
			return v, nil
		}
	}
	return "", fmt.Errorf("%q is not a known %s (known: %s)", s, e.name, strings.Join(vals, ", "))
}
