package config

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Error is one problem found in a config file. Its text has the form
//
//	opsbot.yaml:14: commands[2].timeout: "5 minutes" is not a duration
//
// Line is 0 when the problem has no position (the file part then stands
// alone); Path is empty for problems with the file as a whole.
type Error struct {
	File string
	Line int
	Path string
	Msg  string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(e.Line))
	}
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem Load found, sorted by line. Error joins them with
// newlines, one problem a line.
type Errors []*Error

func (es Errors) Error() string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

// Unwrap lets errors.As find the individual *Error values.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

func (es Errors) sort() {
	sort.SliceStable(es, func(i, j int) bool { return es[i].Line < es[j].Line })
}

// Validator is implemented by config types that check themselves after
// decoding. The loader calls Validate on every value that appears in the
// file (children before parents) whose type, or pointer to it, implements
// Validator, unless decoding that value already failed. Validate returns nil,
// FieldErrors/FieldError (paths relative to the value being validated; ""
// means the value itself) or any other error (reported at the value itself).
// A section absent from the file is not validated: its defaults must be valid.
type Validator interface {
	Validate() error
}

// FieldError is a problem with one value, found by a Validator. Path is
// relative to the validated value, in the form "a.b[2].c" (or "[2].c" when
// the value is a sequence); the loader turns it into a file:line error.
type FieldError struct {
	Path string
	Msg  string
}

func (e FieldError) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

// FieldErrors collects the problems a Validator finds. The zero value is
// ready to use:
//
//	var errs config.FieldErrors
//	if c.Name == "" {
//		errs.Add("name", "is required")
//	}
//	for i, r := range c.Rules {
//		errs.Merge(config.Path("rules", i), r.Validate())
//	}
//	return errs.Err()
type FieldErrors []FieldError

func (es FieldErrors) Error() string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

// Add appends a problem at path (relative to the validated value).
func (es *FieldErrors) Add(path, format string, args ...any) {
	*es = append(*es, FieldError{Path: path, Msg: fmt.Sprintf(format, args...)})
}

// Merge appends the problems in err (as returned by a nested Validate or any
// function returning FieldErrors), with their paths put under prefix. A plain
// error becomes one problem at prefix. A nil err adds nothing.
func (es *FieldErrors) Merge(prefix string, err error) {
	walkFieldErrors(err, func(path, msg string) {
		*es = append(*es, FieldError{Path: JoinPath(prefix, path), Msg: msg})
	})
}

// Err returns nil when there are no problems, es otherwise. Return it from
// Validate so an empty list is a nil error.
func (es FieldErrors) Err() error {
	if len(es) == 0 {
		return nil
	}
	return es
}

// Errorf returns a single problem at path as an error, for validators that
// stop at the first problem.
func Errorf(path, format string, args ...any) error {
	return FieldErrors{{Path: path, Msg: fmt.Sprintf(format, args...)}}
}

// walkFieldErrors calls fn for every problem in err: FieldErrors and
// FieldError (values or pointers), errors.Join trees of them, and any other
// error as one problem at "".
func walkFieldErrors(err error, fn func(path, msg string)) {
	switch e := err.(type) {
	case nil:
	case FieldErrors:
		for _, fe := range e {
			fn(fe.Path, fe.Msg)
		}
	case *FieldErrors:
		if e != nil {
			walkFieldErrors(*e, fn)
		}
	case FieldError:
		fn(e.Path, e.Msg)
	case *FieldError:
		if e != nil {
			fn(e.Path, e.Msg)
		}
	case interface{ Unwrap() []error }:
		for _, c := range e.Unwrap() {
			walkFieldErrors(c, fn)
		}
	default:
		var fes FieldErrors
		if errors.As(err, &fes) {
			walkFieldErrors(fes, fn)
			return
		}
		var fe FieldError
		if errors.As(err, &fe) {
			fn(fe.Path, fe.Msg)
			return
		}
		fn("", err.Error())
	}
}

// Path builds a config path from keys (strings) and sequence indexes (ints):
// Path("commands", 2, "timeout") is "commands[2].timeout", Path(2, "argv")
// is "[2].argv".
func Path(elems ...any) string {
	var b strings.Builder
	for _, e := range elems {
		switch v := e.(type) {
		case int:
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(v))
			b.WriteByte(']')
		default:
			s := fmt.Sprint(v)
			if s == "" {
				continue
			}
			if b.Len() > 0 && !strings.HasPrefix(s, "[") {
				b.WriteByte('.')
			}
			b.WriteString(s)
		}
	}
	return b.String()
}

// JoinPath appends a relative path to base: ("hooks", "github.secret") is
// "hooks.github.secret", ("commands", "[2].timeout") is "commands[2].timeout".
func JoinPath(base, rel string) string {
	switch {
	case rel == "":
		return base
	case base == "":
		return rel
	case strings.HasPrefix(rel, "["):
		return base + rel
	default:
		return base + "." + rel
	}
}

// parentPath strips the last element of a path: "a.b[2].c" → "a.b[2]" →
// "a.b" → "a" → "".
func parentPath(p string) string {
	i := strings.LastIndexAny(p, ".[")
	if i < 0 {
		return ""
	}
	return p[:i]
}
