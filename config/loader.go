// Package config loads opsbot.yaml.
//
// Each module claims its own top-level section with Register, handing a
// pointer to its config value with defaults already set. Load decodes the
// file strictly into those values: a key no section or field claims, a
// duplicate key or a value of the wrong type is an error, and every error
// names file, line and key:
//
//	opsbot.yaml:14: commands[2].timeout: "5 minutes" is not a duration
//
// Scalar values may use ${VAR}, ${VAR:-default} and $$ (a literal $); see
// expandEnv. Values that must not be logged use Secret. Types check
// themselves by implementing Validator.
//
// Decoding follows yaml.v3's tags (`yaml:"name"`, `yaml:"-"`, `,omitempty`,
// `,inline`) and conventions (an untagged field's key is its lower-cased
// name; an empty value clears maps, slices and pointers and leaves other
// values alone), with these differences: durations (time.Duration and
// Duration) are read with clock.ParseDuration ("90s", "2d", "1w"); numbers
// and booleans may be quoted (so ${PORT} works); booleans accept
// true/false/yes/no/on/off.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Loader holds the registered sections and fills them from a file. It is
// not safe for concurrent use; register everything, then Load once.
type Loader struct {
	sections map[string]reflect.Value // section → pointer target
	present  map[string]bool
	lookup   func(string) (string, bool)
}

// Option configures a Loader.
type Option func(*Loader)

// WithLookupEnv sets where ${VAR} values come from (os.LookupEnv by
// default), so tests need not touch the process environment.
func WithLookupEnv(lookup func(string) (string, bool)) Option {
	return func(l *Loader) { l.lookup = lookup }
}

// WithEnv is WithLookupEnv over a fixed map.
func WithEnv(env map[string]string) Option {
	return WithLookupEnv(func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	})
}

// NewLoader returns a Loader with no sections.
func NewLoader(opts ...Option) *Loader {
	l := &Loader{
		sections: map[string]reflect.Value{},
		present:  map[string]bool{},
		lookup:   os.LookupEnv,
	}
	for _, o := range opts {
		o(l)
	}
	return l
}

// Register claims a top-level section. target is a non-nil pointer (to a
// struct, slice, map or scalar) that Load decodes in place, so defaults set
// before Load stay when the file leaves them out. Register fails when the
// section is already claimed or target's type has parts the decoder cannot
// fill (channels, funcs, non-string map keys…; tag such fields `yaml:"-"`).
func (l *Loader) Register(section string, target any) error {
	if section == "" || strings.ContainsAny(section, ".[] \t\n") {
		return fmt.Errorf("config: invalid section name %q", section)
	}
	if _, dup := l.sections[section]; dup {
		return fmt.Errorf("config: section %q is registered twice", section)
	}
	v := reflect.ValueOf(target)
	if !v.IsValid() || v.Kind() != reflect.Pointer || v.IsNil() {
		return fmt.Errorf("config: section %q: target must be a non-nil pointer, not %T", section, target)
	}
	if err := checkType(v.Type().Elem(), section, map[reflect.Type]bool{}); err != nil {
		return fmt.Errorf("config: section %q: %w", section, err)
	}
	l.sections[section] = v
	return nil
}

// Sections returns the registered section names, sorted.
func (l *Loader) Sections() []string {
	out := make([]string, 0, len(l.sections))
	for s := range l.sections {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// Present reports whether the last Load found section in the file.
func (l *Loader) Present(section string) bool { return l.present[section] }

// LoadFile reads path and Loads it, naming the file as path in errors. A
// missing file is an error (errors.Is(err, fs.ErrNotExist)); whether to run
// on defaults instead is the caller's decision.
func (l *Loader) LoadFile(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return l.Load(path, data)
}

// Load decodes data (named filename in errors) into the registered
// sections. It returns nil or Errors holding every problem found, sorted by
// line; sections are then partly decoded and should not be used. An empty
// document leaves every section at its defaults.
func (l *Loader) Load(filename string, data []byte) error {
	clear(l.present)
	d := newDecoder(filename, l.lookup)

	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil
		}
		return Errors{parseError(filename, err)}
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return Errors{parseError(filename, err)}
	default:
		return Errors{{File: filename, Line: extra.Line, Msg: "the file must hold one YAML document, found a second"}}
	}

	top := &doc
	if top.Kind == yaml.DocumentNode {
		if len(top.Content) == 0 {
			return nil
		}
		top = top.Content[0]
	}
	if isNull(top) {
		return nil
	}
	if top.Kind != yaml.MappingNode {
		return Errors{{File: filename, Line: top.Line,
			Msg: "the top level must be a mapping of sections (" + strings.Join(l.Sections(), ", ") + ")"}}
	}
	for _, e := range d.entries(top, "") {
		name := e.key.Value
		target, ok := l.sections[name]
		if !ok {
			known := "none"
			if len(l.sections) > 0 {
				known = strings.Join(l.Sections(), ", ")
			}
			d.add(e.key.Line, name, "unknown section (known: %s)", known)
			continue
		}
		l.present[name] = true
		d.lines[name] = e.key.Line
		d.decode(e.val, target.Elem(), name, e.key.Line)
	}
	if errs := d.result(); len(errs) > 0 {
		return errs
	}
	return nil
}

// parseError turns a yaml.v3 syntax error ("yaml: line 3: could not find
// expected ':'") into an *Error.
func parseError(file string, err error) *Error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	e := &Error{File: file, Msg: msg}
	if sm := yamlLineRE.FindStringSubmatch(msg); sm != nil {
		e.Line, _ = strconv.Atoi(sm[1])
		e.Msg = sm[2]
	}
	return e
}
