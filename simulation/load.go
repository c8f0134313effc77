package simulation

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// MaxScenarioBytes bounds a scenario file: a scenario is a page of keys,
// and a bound keeps a mistaken path (a log, a disk image) from being read
// whole.
const MaxScenarioBytes = 1 << 20

// Problem is one thing wrong in a scenario file: where (line, 0 when the
// key is absent from the file), which key (its path, as
// "network.latency.kind" or "attacks[1].rate"; empty for the document)
// and what was wrong and expected.
type Problem struct {
	Line  int
	Field string
	Msg   string
}

// FileError is a scenario file that could not be loaded: every problem
// found, in file order where the file says where. It wraps ErrScenario.
type FileError struct {
	// Name is the file's name as the caller gave it.
	Name     string
	Problems []Problem
}

func (e *FileError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		var b strings.Builder
		b.WriteString(e.Name)
		if p.Line > 0 {
			fmt.Fprintf(&b, ":%d", p.Line)
		}
		b.WriteString(": ")
		if p.Field != "" {
			b.WriteString(p.Field)
			b.WriteString(": ")
		}
		b.WriteString(p.Msg)
		parts[i] = b.String()
	}
	return strings.Join(parts, "; ")
}

// Unwrap makes errors.Is(err, ErrScenario) hold.
func (e *FileError) Unwrap() error { return ErrScenario }

// Load reads a scenario file (YAML, at most MaxScenarioBytes) and parses
// it with Parse.
func Load(path string) (Scenario, error) {
	f, err := os.Open(path)
	if err != nil {
		return Scenario{}, fmt.Errorf("%w: %w", ErrScenario, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxScenarioBytes+1))
	if err != nil {
		return Scenario{}, fmt.Errorf("%w: read %s: %w", ErrScenario, path, err)
	}
	return Parse(data, path)
}

// Parse decodes a scenario from YAML and validates it (Scenario.Validate,
// which fills in defaults). Decoding is strict: an unknown key, a value
// of the wrong type, a key given twice, a duration without a unit ("10"
// instead of "10s") or a number that is not finite is an error. Every
// problem is reported, each with the line and key it is at, in a
// *FileError naming the file as name. A scenario without a name takes the
// file's base name.
func Parse(data []byte, name string) (Scenario, error) {
	fail := func(ps ...Problem) (Scenario, error) {
		return Scenario{}, &FileError{Name: name, Problems: ps}
	}
	if len(data) > MaxScenarioBytes {
		return fail(Problem{Msg: fmt.Sprintf("larger than %d bytes: not a scenario file", MaxScenarioBytes)})
	}
	var s Scenario
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	err := dec.Decode(&s)
	if errors.Is(err, io.EOF) {
		return fail(Problem{Msg: "empty: want a YAML mapping of scenario keys (nodes, duration, traffic, ...)"})
	}
	var doc yaml.Node
	if derr := yaml.Unmarshal(data, &doc); derr != nil && err == nil {
		err = derr
	}
	idx := indexNodes(&doc)
	if err != nil {
		return fail(idx.yamlProblems(err)...)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		line := 0
		if err == nil {
			line = extra.Line
		}
		return fail(Problem{Line: line, Msg: "more than one YAML document: want one scenario per file"})
	}
	if ps := idx.nonFinite(reflect.ValueOf(s), ""); len(ps) > 0 {
		return fail(ps...)
	}
	if s.Name == "" {
		base := filepath.Base(name)
		s.Name = strings.TrimSuffix(base, filepath.Ext(base))
	}
	if err := s.Validate(); err != nil {
		return fail(idx.validateProblems(err)...)
	}
	return s, nil
}

// nodeEntry is a key or a value of the YAML document: where it is and
// which key path it belongs to.
type nodeEntry struct {
	line  int
	path  string
	key   string       // the key's text (keys only)
	owner reflect.Type // the struct the key is looked up in (keys only; nil: not a known struct)
	value string       // a scalar value's text (values only)
	isKey bool
	kind  yaml.Kind
}

// nodeIndex finds the key path of a line of the document.
type nodeIndex struct {
	entries []nodeEntry
	lines   map[string]int // path -> line of its key (or item)
}

// maxIndexedNodes bounds the index (the file is bounded too; this keeps a
// file of a million tiny list items from costing more than the decoder).
const maxIndexedNodes = 200_000

func indexNodes(doc *yaml.Node) *nodeIndex {
	idx := &nodeIndex{lines: map[string]int{}}
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		idx.walk(doc.Content[0], "", reflect.TypeOf(Scenario{}))
	}
	return idx
}

func (x *nodeIndex) add(e nodeEntry) bool {
	if len(x.entries) >= maxIndexedNodes {
		return false
	}
	x.entries = append(x.entries, e)
	if _, ok := x.lines[e.path]; !ok && e.path != "" {
		x.lines[e.path] = e.line
	}
	return true
}

// walk records n (at path, decoded into t, nil when unknown) and what it
// holds.
func (x *nodeIndex) walk(n *yaml.Node, path string, t reflect.Type) {
	if !x.add(nodeEntry{line: n.Line, path: path, value: n.Value, kind: n.Kind}) {
		return
	}
	switch n.Kind {
	case yaml.MappingNode:
		var st reflect.Type
		if t != nil && t.Kind() == reflect.Struct {
			st = t
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := k.Value
			if path != "" {
				p = path + "." + k.Value
			}
			if !x.add(nodeEntry{line: k.Line, path: p, key: k.Value, owner: st, isKey: true, kind: k.Kind}) {
				return
			}
			x.walk(v, p, fieldType(st, k.Value))
		}
	case yaml.SequenceNode:
		var et reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			et = t.Elem()
		}
		for i, item := range n.Content {
			x.walk(item, fmt.Sprintf("%s[%d]", path, i), et)
		}
	}
}

// fieldType is the type of t's field with the YAML key name (nil if t is
// not a struct or has no such key).
func fieldType(t reflect.Type, name string) reflect.Type {
	if t == nil {
		return nil
	}
	for i := range t.NumField() {
		if yamlKey(t.Field(i)) == name {
			return t.Field(i).Type
		}
	}
	return nil
}

func yamlKey(f reflect.StructField) string {
	tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if tag == "" {
		return strings.ToLower(f.Name)
	}
	return tag
}

// keysOf lists a struct's YAML keys.
func keysOf(t reflect.Type) []string {
	var ks []string
	for i := range t.NumField() {
		if k := yamlKey(t.Field(i)); k != "-" {
			ks = append(ks, k)
		}
	}
	return ks
}

var (
	lineRe      = regexp.MustCompile(`(?s)^(?:yaml: )?line (\d+): (.*)$`)
	unknownRe   = regexp.MustCompile(`^field (.+) not found in type \S+$`)
	duplicateRe = regexp.MustCompile(`^mapping key "(.*)" already defined at line (\d+)$`)
	typeRe      = regexp.MustCompile("(?s)^cannot unmarshal !!(\\w+) (?:`(.*)` )?into (\\S+)$")
)

// yamlProblems turns the YAML decoder's errors into problems naming the
// key at each line.
func (x *nodeIndex) yamlProblems(err error) []Problem {
	var msgs []string
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	} else {
		msgs = []string{err.Error()}
	}
	ps := make([]Problem, 0, len(msgs))
	for _, m := range msgs {
		p := Problem{Msg: strings.TrimPrefix(m, "yaml: ")}
		sm := lineRe.FindStringSubmatch(m)
		if sm == nil {
			ps = append(ps, p)
			continue
		}
		p.Line, _ = strconv.Atoi(sm[1])
		rest := sm[2]
		switch {
		case unknownRe.MatchString(rest):
			key := unknownRe.FindStringSubmatch(rest)[1]
			e, ok := x.find(p.Line, func(e nodeEntry) bool { return e.isKey && e.key == key })
			p.Field, p.Msg = key, "unknown key"
			if ok {
				p.Field = e.path
				if e.owner != nil {
					p.Msg = "unknown key, want one of: " + strings.Join(keysOf(e.owner), ", ")
				}
			}
		case duplicateRe.MatchString(rest):
			dm := duplicateRe.FindStringSubmatch(rest)
			p.Field, p.Msg = dm[1], "given twice (first at line "+dm[2]+")"
			if e, ok := x.find(p.Line, func(e nodeEntry) bool { return e.isKey && e.key == dm[1] }); ok {
				p.Field = e.path
			}
		case typeRe.MatchString(rest):
			tm := typeRe.FindStringSubmatch(rest)
			tag, val, into := tm[1], tm[2], tm[3]
			e, ok := x.find(p.Line, func(e nodeEntry) bool {
				if e.isKey {
					return false
				}
				if val == "" {
					return (tag == "seq" && e.kind == yaml.SequenceNode) || (tag == "map" && e.kind == yaml.MappingNode)
				}
				if short, cut := strings.CutSuffix(val, "..."); cut {
					return e.kind == yaml.ScalarNode && strings.HasPrefix(e.value, short)
				}
				return e.kind == yaml.ScalarNode && e.value == val
			})
			if ok {
				p.Field = e.path
				val = e.value
			}
			p.Msg = fmt.Sprintf("got %s, want %s", describeGot(tag, val), describeWant(into))
		default:
			p.Msg = "YAML syntax: " + rest
		}
		ps = append(ps, p)
	}
	return ps
}

// find is the first entry on line that match accepts, else the first on
// the line.
func (x *nodeIndex) find(line int, match func(nodeEntry) bool) (nodeEntry, bool) {
	var first *nodeEntry
	for i := range x.entries {
		e := &x.entries[i]
		if e.line != line {
			continue
		}
		if match(*e) {
			return *e, true
		}
		if first == nil && e.path != "" {
			first = e
		}
	}
	if first != nil {
		return *first, true
	}
	return nodeEntry{}, false
}

func describeGot(tag, val string) string {
	switch tag {
	case "seq":
		return "a list"
	case "map":
		return "a mapping"
	case "null":
		return "nothing"
	}
	return strconv.Quote(val)
}

func describeWant(goType string) string {
	switch {
	case goType == "time.Duration":
		return "a duration with a unit, such as 500ms, 10s or 2m"
	case goType == "uint64":
		return "a whole number >= 0"
	case strings.HasPrefix(goType, "int"):
		return "a whole number"
	case strings.HasPrefix(goType, "float"):
		return "a number"
	case goType == "bool":
		return "true or false"
	case goType == "string":
		return "a string"
	case strings.HasPrefix(goType, "[]"):
		return "a list"
	default:
		return "a mapping of keys"
	}
}

// nonFinite reports float fields holding NaN or an infinity (Validate's
// range checks let NaN through).
func (x *nodeIndex) nonFinite(v reflect.Value, path string) []Problem {
	var ps []Problem
	switch v.Kind() {
	case reflect.Float32, reflect.Float64:
		if f := v.Float(); math.IsNaN(f) || math.IsInf(f, 0) {
			ps = append(ps, Problem{Line: x.lines[path], Field: path, Msg: fmt.Sprintf("%v, want a finite number", f)})
		}
	case reflect.Struct:
		t := v.Type()
		if t == reflect.TypeOf(time.Duration(0)) {
			return nil
		}
		for i := range t.NumField() {
			p := yamlKey(t.Field(i))
			if path != "" {
				p = path + "." + p
			}
			ps = append(ps, x.nonFinite(v.Field(i), p)...)
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			ps = append(ps, x.nonFinite(v.Index(i), fmt.Sprintf("%s[%d]", path, i))...)
		}
	}
	return ps
}

// validateProblems turns Scenario.Validate's errors (each "bad scenario:
// FIELD: what") into problems at the field's line.
func (x *nodeIndex) validateProblems(err error) []Problem {
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	prefix := ErrScenario.Error() + ": "
	ps := make([]Problem, 0, len(errs))
	for _, e := range errs {
		msg := strings.TrimPrefix(e.Error(), prefix)
		field, what, ok := strings.Cut(msg, ": ")
		if !ok {
			ps = append(ps, Problem{Msg: msg})
			continue
		}
		ps = append(ps, Problem{Line: x.lineOf(field), Field: field, Msg: what})
	}
	// File order; what the file does not set (line 0) last.
	sort.SliceStable(ps, func(i, j int) bool {
		li, lj := ps[i].Line, ps[j].Line
		return li != 0 && (lj == 0 || li < lj)
	})
	return ps
}

// lineOf is the line of a field Validate names: a key path, or several
// sharing a parent ("network.upload_bps/download_bps", "warmup/drain");
// the first one in the file wins. 0 when the file does not set it.
func (x *nodeIndex) lineOf(field string) int {
	parts := strings.Split(field, "/")
	parent := ""
	if i := strings.LastIndex(parts[0], "."); i >= 0 {
		parent = parts[0][:i+1]
	}
	for i, p := range parts {
		if i > 0 && !strings.Contains(p, ".") {
			p = parent + p
		}
		if line, ok := x.lines[p]; ok {
			return line
		}
	}
	return 0
}
