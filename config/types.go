package config

import (
	"encoding"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"
)

var (
	durationType       = reflect.TypeFor[time.Duration]()
	configDurationType = reflect.TypeFor[Duration]()
	secretType         = reflect.TypeFor[Secret]()
	unmarshalerType    = reflect.TypeFor[yaml.Unmarshaler]()
	textUnmarshalType  = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// fieldInfo is one key of a struct: the field reached by index (through
// inline structs, which may be pointers to allocate on first use).
type fieldInfo struct {
	name  string
	index []int
}

type structInfo struct {
	fields    map[string]*fieldInfo
	names     []string // keys in declaration order, for "known: …"
	inlineMap []int    // index of an `,inline` map taking the other keys, or nil
}

var structInfos sync.Map // reflect.Type → *structInfo or error

// getStructInfo reads the yaml tags of a struct type: `yaml:"name"`,
// `yaml:"-"`, `yaml:",omitempty"`, `yaml:",flow"` (ignored when decoding)
// and `yaml:",inline"` on a struct, *struct or map[string]T field. Fields
// without a tag use the lower-cased field name, as yaml.v3 does; unexported
// fields are skipped.
func getStructInfo(t reflect.Type) (*structInfo, error) {
	if v, ok := structInfos.Load(t); ok {
		if err, ok := v.(error); ok {
			return nil, err
		}
		return v.(*structInfo), nil
	}
	si, err := buildStructInfo(t, map[reflect.Type]bool{})
	if err != nil {
		structInfos.Store(t, err)
		return nil, err
	}
	structInfos.Store(t, si)
	return si, nil
}

func buildStructInfo(t reflect.Type, inlining map[reflect.Type]bool) (*structInfo, error) {
	if inlining[t] {
		return nil, fmt.Errorf("%s inlines itself", t)
	}
	inlining[t] = true
	defer delete(inlining, t)

	si := &structInfo{fields: map[string]*fieldInfo{}}
	add := func(fi *fieldInfo) error {
		if _, dup := si.fields[fi.name]; dup {
			return fmt.Errorf("%s: key %q is used by two fields", t, fi.name)
		}
		si.fields[fi.name] = fi
		si.names = append(si.names, fi.name)
		return nil
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() && !f.Anonymous {
			continue
		}
		tag := f.Tag.Get("yaml")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		inline := false
		for o := range strings.SplitSeq(opts, ",") {
			switch o {
			case "", "omitempty", "flow":
			case "inline":
				inline = true
			default:
				return nil, fmt.Errorf("%s.%s: unsupported yaml tag option %q", t, f.Name, o)
			}
		}
		if !inline {
			if !f.IsExported() {
				continue // an unexported embedded type without ,inline
			}
			if name == "" {
				name = strings.ToLower(f.Name)
			}
			if err := add(&fieldInfo{name: name, index: []int{i}}); err != nil {
				return nil, err
			}
			continue
		}
		ft := f.Type
		switch {
		case ft.Kind() == reflect.Map:
			if si.inlineMap != nil {
				return nil, fmt.Errorf("%s.%s: only one ,inline map is allowed", t, f.Name)
			}
			if ft.Key().Kind() != reflect.String {
				return nil, fmt.Errorf("%s.%s: an ,inline map needs string keys", t, f.Name)
			}
			si.inlineMap = []int{i}
		case ft.Kind() == reflect.Struct || ft.Kind() == reflect.Pointer && ft.Elem().Kind() == reflect.Struct:
			if ft.Kind() == reflect.Pointer && !f.IsExported() {
				return nil, fmt.Errorf("%s.%s: an ,inline pointer must be exported", t, f.Name)
			}
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			sub, err := buildStructInfo(ft, inlining)
			if err != nil {
				return nil, err
			}
			for _, n := range sub.names {
				sf := sub.fields[n]
				if err := add(&fieldInfo{name: n, index: append([]int{i}, sf.index...)}); err != nil {
					return nil, err
				}
			}
			if sub.inlineMap != nil {
				if si.inlineMap != nil {
					return nil, fmt.Errorf("%s.%s: only one ,inline map is allowed", t, f.Name)
				}
				si.inlineMap = append([]int{i}, sub.inlineMap...)
			}
		default:
			return nil, fmt.Errorf("%s.%s: ,inline needs a struct, *struct or map field, not %s", t, f.Name, f.Type)
		}
	}
	return si, nil
}

// fieldByIndex is reflect.Value.FieldByIndex, allocating nil inline
// pointers on the way.
func fieldByIndex(v reflect.Value, index []int) reflect.Value {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v
}

// customDecoded reports whether values of t decode themselves (or are one of
// the types the decoder treats specially), so their insides are not checked.
func customDecoded(t reflect.Type) bool {
	if t == durationType || t == configDurationType || t == secretType {
		return true
	}
	pt := reflect.PointerTo(t)
	return pt.Implements(unmarshalerType) || pt.Implements(textUnmarshalType)
}

// checkType reports the first part of t the decoder cannot fill, so that
// Register fails at startup rather than Load failing on some user's file.
func checkType(t reflect.Type, where string, seen map[reflect.Type]bool) error {
	if seen[t] {
		return nil
	}
	seen[t] = true
	if customDecoded(t) {
		return nil
	}
	switch t.Kind() {
	case reflect.Bool, reflect.String,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return nil
	case reflect.Pointer, reflect.Slice:
		return checkType(t.Elem(), where, seen)
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return fmt.Errorf("%s: map keys must be strings, not %s", where, t.Key())
		}
		return checkType(t.Elem(), where, seen)
	case reflect.Interface:
		if t.NumMethod() != 0 {
			return fmt.Errorf("%s: unsupported interface type %s (only any)", where, t)
		}
		return nil
	case reflect.Struct:
		si, err := getStructInfo(t)
		if err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		for _, name := range si.names {
			ft := t.FieldByIndex(si.fields[name].index).Type
			if err := checkType(ft, where+"."+name, seen); err != nil {
				return err
			}
		}
		if si.inlineMap != nil {
			if err := checkType(t.FieldByIndex(si.inlineMap).Type, where, seen); err != nil {
				return err
			}
		}
		return nil
	default:
		return fmt.Errorf("%s: unsupported type %s (tag the field `yaml:\"-\"` if it is not configuration)", where, t)
	}
}

var sensitiveTypes sync.Map // reflect.Type → bool

// sensitive reports whether values of t may hold secrets: Secret itself, or
// pointers, slices, maps and structs with a Secret somewhere inside. A
// scalar given where such a value was expected is not quoted in errors.
func sensitive(t reflect.Type) bool {
	if v, ok := sensitiveTypes.Load(t); ok {
		return v.(bool)
	}
	s := sensitiveType(t, map[reflect.Type]bool{})
	sensitiveTypes.Store(t, s)
	return s
}

func sensitiveType(t reflect.Type, seen map[reflect.Type]bool) bool {
	if t == secretType {
		return true
	}
	if seen[t] {
		return false
	}
	seen[t] = true
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Map:
		return sensitiveType(t.Elem(), seen)
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			if f := t.Field(i); (f.IsExported() || f.Anonymous) && sensitiveType(f.Type, seen) {
				return true
			}
		}
	}
	return false
}
