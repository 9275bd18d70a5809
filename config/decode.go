package config

import (
	"encoding"
	"errors"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/opsbot/opsbot/clock"
)

// maxSteps bounds the work one Load does, so a file of nested aliases (the
// "billion laughs") fails instead of eating the machine.
const maxSteps = 1 << 18

// decoder fills Go values from a yaml.Node tree strictly: unknown and
// duplicate keys are errors, every value is checked against its Go type, and
// every problem is collected with its line and path.
type decoder struct {
	file   string
	lookup func(string) (string, bool)
	errs   Errors
	// failures counts decoding problems (not Validate results), so a value
	// whose decoding failed is not validated.
	failures int
	// lines maps every path seen to the line of its key (or sequence item),
	// so validation errors can be placed.
	lines map[string]int
	// expanded holds scalar nodes whose ${VAR}s are done: true when the
	// value changed (it came, at least partly, from the environment).
	expanded map[*yaml.Node]bool
	failed   map[*yaml.Node]bool // scalar nodes whose expansion failed
	active   map[*yaml.Node]bool // anchors being decoded or merged (cycle guard)
	steps    int
}

func newDecoder(file string, lookup func(string) (string, bool)) *decoder {
	return &decoder{
		file:     file,
		lookup:   lookup,
		lines:    map[string]int{},
		expanded: map[*yaml.Node]bool{},
		failed:   map[*yaml.Node]bool{},
		active:   map[*yaml.Node]bool{},
	}
}

func (d *decoder) add(line int, path, format string, args ...any) {
	d.failures++
	d.report(line, path, format, args...)
}

func (d *decoder) report(line int, path, format string, args ...any) {
	d.errs = append(d.errs, &Error{File: d.file, Line: line, Path: path, Msg: fmt.Sprintf(format, args...)})
}

// result sorts the errors by line and drops repeats (an anchor used twice
// reports its problems once).
func (d *decoder) result() Errors {
	seen := map[Error]bool{}
	out := Errors{}
	for _, e := range d.errs {
		if seen[*e] {
			continue
		}
		seen[*e] = true
		out = append(out, e)
	}
	out.sort()
	return out
}

func (d *decoder) step(line int, path string) bool {
	d.steps++
	if d.steps == maxSteps+1 {
		d.add(line, path, "document too large (too many aliases?)")
	}
	return d.steps <= maxSteps
}

func keyPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func indexPath(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}

// decode fills v from n. path names the value in errors; line is the line of
// its key or sequence item (where errors about the value are reported).
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string, line int) {
	if !d.step(line, path) {
		return
	}
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil || d.active[n.Alias] {
			d.add(line, path, "alias *%s refers to itself", n.Value)
			return
		}
		d.decode(n.Alias, v, path, line)
		return
	}
	if n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode {
		// active marks the collections being decoded, so an alias to one of
		// them from inside is caught as a cycle.
		d.active[n] = true
		defer delete(d.active, n)
	}
	if n.Kind == yaml.ScalarNode && !d.expand(n, path, line) {
		return
	}
	before := d.failures
	d.decodeValue(n, v, path, line)
	if d.failures == before {
		d.validate(v, path, line)
	}
}

// expand applies ${VAR} expansion to a scalar node, once.
func (d *decoder) expand(n *yaml.Node, path string, line int) bool {
	if _, done := d.expanded[n]; done {
		return !d.failed[n]
	}
	v, err := expandEnv(n.Value, d.lookup)
	if err != nil {
		d.expanded[n] = false
		d.failed[n] = true
		d.add(line, path, "%v", err)
		return false
	}
	d.expanded[n] = v != n.Value
	n.Value = v
	return true
}

// expandTree expands every scalar value (not keys) under n, for values
// handed whole to an UnmarshalYAML method. It records the lines of the paths
// it sees and reports whether every expansion succeeded.
func (d *decoder) expandTree(n *yaml.Node, path string, line int, visiting map[*yaml.Node]bool) bool {
	if !d.step(line, path) {
		return false
	}
	switch n.Kind {
	case yaml.ScalarNode:
		return d.expand(n, path, line)
	case yaml.AliasNode:
		if n.Alias == nil || visiting[n.Alias] {
			return true // the decoder of the value reports the cycle
		}
		visiting[n.Alias] = true
		defer delete(visiting, n.Alias)
		return d.expandTree(n.Alias, path, line, visiting)
	case yaml.SequenceNode:
		ok := true
		for i, c := range n.Content {
			p := indexPath(path, i)
			d.lines[p] = c.Line
			ok = d.expandTree(c, p, c.Line, visiting) && ok
		}
		return ok
	case yaml.MappingNode:
		ok := true
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, c := n.Content[i], n.Content[i+1]
			p := path
			if k.Kind == yaml.ScalarNode && !isMerge(k) {
				p = keyPath(path, k.Value)
				d.lines[p] = k.Line
			}
			ok = d.expandTree(c, p, k.Line, visiting) && ok
		}
		return ok
	}
	return true
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func isMerge(k *yaml.Node) bool {
	return k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge"
}

func (d *decoder) decodeValue(n *yaml.Node, v reflect.Value, path string, line int) {
	t := v.Type()
	if t.Kind() == reflect.Pointer {
		if isNull(n) {
			v.SetZero()
			return
		}
		if v.IsNil() {
			v.Set(reflect.New(t.Elem()))
		}
		d.decode(n, v.Elem(), path, line)
		return
	}
	if isNull(n) {
		// Like yaml.v3: an empty value clears maps, slices and interfaces
		// and leaves everything else (so defaults) as it was.
		switch t.Kind() {
		case reflect.Map, reflect.Slice, reflect.Interface:
			v.SetZero()
		}
		return
	}
	var addr any
	if v.CanAddr() && v.Addr().CanInterface() {
		addr = v.Addr().Interface()
	}
	if u, ok := addr.(yaml.Unmarshaler); ok {
		d.unmarshalYAML(u, n, path, line)
		return
	}
	hide := sensitive(t)
	switch t {
	case durationType, configDurationType:
		s, ok := d.scalar(n, path, line, "a duration", hide)
		if !ok {
			return
		}
		dur, err := clock.ParseDuration(s)
		if err != nil {
			d.add(line, path, "%q is not a duration", s)
			return
		}
		v.SetInt(int64(dur))
		return
	case secretType:
		if s, ok := d.scalar(n, path, line, "a string", true); ok {
			v.SetString(s)
		}
		return
	}
	if u, ok := addr.(encoding.TextUnmarshaler); ok {
		s, ok := d.scalar(n, path, line, "a string", hide)
		if !ok {
			return
		}
		if err := u.UnmarshalText([]byte(s)); err != nil {
			msg := err.Error()
			if !strings.Contains(msg, s) {
				msg = fmt.Sprintf("%q: %s", s, msg)
			}
			d.add(line, path, "%s", msg)
		}
		return
	}

	switch t.Kind() {
	case reflect.String:
		if s, ok := d.scalar(n, path, line, "a string", hide); ok {
			v.SetString(s)
		}
	case reflect.Bool:
		s, ok := d.scalar(n, path, line, "a boolean", hide)
		if !ok {
			return
		}
		switch strings.ToLower(s) {
		case "true", "yes", "on":
			v.SetBool(true)
		case "false", "no", "off":
			v.SetBool(false)
		default:
			d.add(line, path, "%q is not a boolean (true or false)", s)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		s, ok := d.scalar(n, path, line, "an integer", hide)
		if !ok {
			return
		}
		i, err := strconv.ParseInt(s, 0, t.Bits())
		switch {
		case errors.Is(err, strconv.ErrRange):
			d.add(line, path, "%q is out of range for %s", s, t.Kind())
		case err != nil:
			d.add(line, path, "%q is not an integer", s)
		default:
			v.SetInt(i)
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		s, ok := d.scalar(n, path, line, "a non-negative integer", hide)
		if !ok {
			return
		}
		u, err := strconv.ParseUint(s, 0, t.Bits())
		switch {
		case errors.Is(err, strconv.ErrRange):
			d.add(line, path, "%q is out of range for %s", s, t.Kind())
		case err != nil:
			d.add(line, path, "%q is not a non-negative integer", s)
		default:
			v.SetUint(u)
		}
	case reflect.Float32, reflect.Float64:
		s, ok := d.scalar(n, path, line, "a number", hide)
		if !ok {
			return
		}
		f, err := parseFloat(s, t.Bits())
		if err != nil {
			d.add(line, path, "%q is not a number", s)
			return
		}
		v.SetFloat(f)
	case reflect.Struct:
		d.decodeStruct(n, v, path, line)
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			d.add(line, path, "expected a mapping, got %s", d.describe(n, hide))
			return
		}
		if v.IsNil() {
			v.Set(reflect.MakeMap(t))
		}
		for _, e := range d.entries(n, path) {
			d.mapEntry(v, e, keyPath(path, e.key.Value))
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.add(line, path, "expected a sequence, got %s", d.describe(n, hide))
			return
		}
		s := reflect.MakeSlice(t, len(n.Content), len(n.Content))
		for i, item := range n.Content {
			p := indexPath(path, i)
			d.lines[p] = item.Line
			d.decode(item, s.Index(i), p, item.Line)
		}
		v.Set(s)
	case reflect.Interface:
		if t.NumMethod() != 0 {
			d.add(line, path, "cannot decode into %s", t)
			return
		}
		d.decodeAny(n, v, path, line)
	default:
		d.add(line, path, "cannot decode into %s", t)
	}
}

// scalar returns n's value, or reports that a collection was given where a
// scalar of the kind want was expected.
func (d *decoder) scalar(n *yaml.Node, path string, line int, want string, hide bool) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		d.add(line, path, "expected %s, got %s", want, d.describe(n, hide))
		return "", false
	}
	return n.Value, true
}

// describe names what a node is for "expected X, got Y" messages. Scalars
// are quoted unless they are (or may be) secret: the target holds secrets,
// or the value came from the environment.
func (d *decoder) describe(n *yaml.Node, hide bool) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a sequence"
	case yaml.ScalarNode:
		if hide || d.expanded[n] || len(n.Value) > 40 || strings.Contains(n.Value, "\n") {
			return "a scalar value"
		}
		return strconv.Quote(n.Value)
	}
	return "an unexpected node"
}

func parseFloat(s string, bits int) (float64, error) {
	switch strings.ToLower(strings.TrimPrefix(s, "+")) {
	case ".inf":
		return math.Inf(1), nil
	case "-.inf":
		return math.Inf(-1), nil
	case ".nan":
		return math.NaN(), nil
	}
	return strconv.ParseFloat(s, bits)
}

type entry struct{ key, val *yaml.Node }

// entries lists a mapping's keys and values, applying merge keys (<<: *base;
// keys written in the mapping win over merged ones, earlier merges over
// later) and reporting duplicate and non-string keys.
func (d *decoder) entries(n *yaml.Node, path string) []entry {
	var out []entry
	seen := map[string]int{}
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.AliasNode && k.Alias != nil {
			k = k.Alias
		}
		if k.Kind != yaml.ScalarNode {
			d.add(k.Line, path, "mapping keys must be strings")
			continue
		}
		if isMerge(k) {
			if len(merges) > 0 {
				d.add(k.Line, keyPath(path, k.Value), "duplicate key (write one <<: [*a, *b])")
				continue
			}
			merges = append(merges, val)
			continue
		}
		if first, dup := seen[k.Value]; dup {
			d.add(k.Line, keyPath(path, k.Value), "duplicate key (first on line %d)", first)
			continue
		}
		seen[k.Value] = k.Line
		out = append(out, entry{k, val})
	}
	for _, m := range merges {
		d.merge(m, path, seen, &out)
	}
	return out
}

func (d *decoder) merge(m *yaml.Node, path string, seen map[string]int, out *[]entry) {
	if !d.step(m.Line, path) {
		return
	}
	if m.Kind == yaml.AliasNode && m.Alias != nil {
		m = m.Alias
	}
	if d.active[m] {
		d.add(m.Line, path, "merge (<<) includes itself")
		return
	}
	d.active[m] = true
	defer delete(d.active, m)
	switch m.Kind {
	case yaml.MappingNode:
		for _, e := range d.entries(m, path) {
			if _, ok := seen[e.key.Value]; ok {
				continue
			}
			seen[e.key.Value] = e.key.Line
			*out = append(*out, e)
		}
	case yaml.SequenceNode:
		for _, c := range m.Content {
			if c.Kind == yaml.SequenceNode {
				d.add(c.Line, path, "merge (<<) takes a mapping or a sequence of mappings")
				continue
			}
			d.merge(c, path, seen, out)
		}
	default:
		d.add(m.Line, path, "merge (<<) takes a mapping or a sequence of mappings")
	}
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string, line int) {
	if n.Kind != yaml.MappingNode {
		d.add(line, path, "expected a mapping, got %s", d.describe(n, sensitive(v.Type())))
		return
	}
	si, err := getStructInfo(v.Type())
	if err != nil {
		d.add(line, path, "%v", err)
		return
	}
	for _, e := range d.entries(n, path) {
		kp := keyPath(path, e.key.Value)
		fi := si.fields[e.key.Value]
		if fi == nil {
			if si.inlineMap != nil {
				m := fieldByIndex(v, si.inlineMap)
				if m.IsNil() {
					m.Set(reflect.MakeMap(m.Type()))
				}
				d.mapEntry(m, e, kp)
				continue
			}
			known := "none"
			if len(si.names) > 0 {
				known = strings.Join(si.names, ", ")
			}
			d.add(e.key.Line, kp, "unknown key (known: %s)", known)
			continue
		}
		d.lines[kp] = e.key.Line
		d.decode(e.val, fieldByIndex(v, fi.index), kp, e.key.Line)
	}
}

// mapEntry decodes one entry into map m, starting from the entry already
// there (so a default entry keeps the fields the file does not set).
func (d *decoder) mapEntry(m reflect.Value, e entry, kp string) {
	k := reflect.ValueOf(e.key.Value).Convert(m.Type().Key())
	ev := reflect.New(m.Type().Elem()).Elem()
	if old := m.MapIndex(k); old.IsValid() {
		ev.Set(old)
	}
	d.lines[kp] = e.key.Line
	d.decode(e.val, ev, kp, e.key.Line)
	m.SetMapIndex(k, ev)
}

// decodeAny fills an `any` with map[string]any, []any and the scalar types
// yaml.v3 would choose (a value from the environment stays a string).
func (d *decoder) decodeAny(n *yaml.Node, v reflect.Value, path string, line int) {
	switch n.Kind {
	case yaml.MappingNode:
		m := reflect.ValueOf(map[string]any{})
		for _, e := range d.entries(n, path) {
			d.mapEntry(m, e, keyPath(path, e.key.Value))
		}
		v.Set(m)
	case yaml.SequenceNode:
		s := make([]any, len(n.Content))
		for i, item := range n.Content {
			p := indexPath(path, i)
			d.lines[p] = item.Line
			d.decode(item, reflect.ValueOf(&s[i]).Elem(), p, item.Line)
		}
		v.Set(reflect.ValueOf(s))
	case yaml.ScalarNode:
		tag := n.Tag
		if d.expanded[n] {
			tag = "!!str"
		}
		var x any
		c := &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Style: n.Style, Value: n.Value}
		if err := c.Decode(&x); err != nil {
			d.add(line, path, "%s", cleanYAMLError(err))
			return
		}
		if x == nil {
			v.SetZero()
		} else {
			v.Set(reflect.ValueOf(x))
		}
	default:
		d.add(line, path, "unexpected YAML node")
	}
}

var yamlLineRE = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// cleanYAMLError strips yaml.v3's "yaml: " and "unmarshal errors:" framing.
func cleanYAMLError(err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs := make([]string, len(te.Errors))
		for i, m := range te.Errors {
			if sm := yamlLineRE.FindStringSubmatch(m); sm != nil {
				m = sm[2]
			}
			msgs[i] = m
		}
		return strings.Join(msgs, "; ")
	}
	return strings.TrimPrefix(err.Error(), "yaml: ")
}

// unmarshalYAML hands a node (with its ${VAR}s expanded) to a type's own
// UnmarshalYAML. Its error is reported at the node's line; FieldErrors it
// returns are placed like a Validator's, and a yaml.TypeError from
// Node.Decode inside it keeps the lines it names.
func (d *decoder) unmarshalYAML(u yaml.Unmarshaler, n *yaml.Node, path string, line int) {
	if !d.expandTree(n, path, line, map[*yaml.Node]bool{}) {
		return
	}
	err := u.UnmarshalYAML(n)
	if err == nil {
		return
	}
	var te *yaml.TypeError
	if errors.As(err, &te) {
		for _, m := range te.Errors {
			l, msg := line, m
			if sm := yamlLineRE.FindStringSubmatch(m); sm != nil {
				l, _ = strconv.Atoi(sm[1])
				msg = sm[2]
			}
			d.add(l, path, "%s", msg)
		}
		return
	}
	d.failures++
	d.placeFieldErrors(err, path, line)
}

// validate calls Validate on v when its type (or a pointer to it) is a
// Validator. Pointers and interfaces are validated through what they hold.
func (d *decoder) validate(v reflect.Value, path string, line int) {
	if k := v.Kind(); k == reflect.Pointer || k == reflect.Interface {
		return
	}
	var val Validator
	if v.CanAddr() && v.Addr().CanInterface() {
		val, _ = v.Addr().Interface().(Validator)
	} else if v.CanInterface() {
		val, _ = v.Interface().(Validator)
	}
	if val == nil {
		return
	}
	d.placeFieldErrors(val.Validate(), path, line)
}

// placeFieldErrors reports the problems in err, whose paths are relative to
// base, each at the line of the nearest path the file has.
func (d *decoder) placeFieldErrors(err error, base string, line int) {
	walkFieldErrors(err, func(rel, msg string) {
		full := JoinPath(base, rel)
		d.report(d.lineFor(full, line), full, "%s", cleanYAMLError(errors.New(msg)))
	})
}

func (d *decoder) lineFor(p string, fallback int) int {
	for ; p != ""; p = parentPath(p) {
		if l, ok := d.lines[p]; ok {
			return l
		}
	}
	return fallback
}
