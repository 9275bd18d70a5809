package command

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Type is an argument type: it validates a value typed in chat and normalises
// it. Parse's errors are shown to the user as they are, e.g.
// `"5 minutes" is not a duration`.
type Type interface {
	Name() string
	Parse(ctx context.Context, s string) (string, error)
}

// Enumerator is a Type that can list its values, so the bot can offer them as
// choices when the argument is missing.
type Enumerator interface {
	Values(ctx context.Context) ([]string, error)
}

// Types is a registry of argument types by name, safe for concurrent use.
type Types struct {
	mu    sync.RWMutex
	types map[string]Type
}

// NewTypes returns a registry holding the built-in types: string, int,
// duration, time, date, user and room. Enums are written inline in grammars,
// "{state:enum(open|closed)}", or registered with Enum.
func NewTypes() *Types {
	t := &Types{types: make(map[string]Type)}
	for _, typ := range builtinTypes() {
		t.types[typ.Name()] = typ
	}
	return t
}

// Register adds a type, replacing any type of the same name (a module may
// replace "user" with one that knows the users). The name "enum" is reserved
// for inline enums.
func (t *Types) Register(typ Type) error {
	if typ == nil {
		return errors.New("register type: nil type")
	}
	name := typ.Name()
	if !validName(name) || name == "enum" {
		return fmt.Errorf("register type: invalid type name %q", name)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.types[name] = typ
	return nil
}

// Lookup returns the type of that name; "" is string.
func (t *Types) Lookup(name string) (Type, bool) {
	if name == "" {
		name = "string"
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	typ, ok := t.types[name]
	return typ, ok
}

// Names returns the registered type names, sorted.
func (t *Types) Names() []string {
	t.mu.RLock()
	defer t.mu.RUnlock()
	names := make([]string, 0, len(t.types))
	for n := range t.types {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Enum returns a type whose values are a fixed list, matched
// case-insensitively and normalised to the spelling given here.
func Enum(name string, values ...string) Type {
	return &enumType{name: name, values: slices.Clone(values)}
}

type enumType struct {
	name   string
	values []string
}

func (e *enumType) Name() string { return e.name }

func (e *enumType) Values(context.Context) ([]string, error) { return slices.Clone(e.values), nil }

func (e *enumType) Parse(_ context.Context, s string) (string, error) {
	for _, v := range e.values {
		if strings.EqualFold(s, v) {
			return v, nil
		}
	}
	return "", fmt.Errorf("%q is not one of %s", s, strings.Join(e.values, ", "))
}

// TypeFunc returns a type from a name and a parse function.
func TypeFunc(name string, parse func(ctx context.Context, s string) (string, error)) Type {
	return funcType{name: name, parse: parse}
}

type funcType struct {
	name  string
	parse func(ctx context.Context, s string) (string, error)
}

func (f funcType) Name() string { return f.name }

func (f funcType) Parse(ctx context.Context, s string) (string, error) { return f.parse(ctx, s) }
