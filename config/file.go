package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"
	yaml "go.yaml.in/yaml/v4"
)

// fileData is a parsed configuration file: its values, and the line each
// key (a group, or group.leaf) is written on, for error messages and
// `rlnd config show --sources`.
type fileData struct {
	raw   map[string]any
	lines map[string]int
}

// at is " line N" for key when its line is known, else "".
func (d *fileData) at(key string) string {
	if n := d.lines[key]; n > 0 {
		return fmt.Sprintf(" line %d", n)
	}
	return ""
}

// readFile parses a YAML or TOML file, chosen by its extension. Keys keep
// their case. A syntax error names the line and column where the parser
// found it.
func readFile(path string) (*fileData, error) {
	var format string
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".yaml", ".yml":
		format = "YAML"
	case ".toml":
		format = "TOML"
	default:
		return nil, problemf(nil, "config file %q: unsupported extension %q, allowed .yaml, .yml, .toml", path, ext)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, problemf(err, "cannot read config file %q: %v", path, err)
	}
	var (
		fd    *fileData
		where string
	)
	if format == "YAML" {
		fd, where, err = parseYAML(data)
	} else {
		fd, where, err = parseTOML(data)
	}
	if err != nil {
		return nil, problemf(err, "cannot parse config file %q as %s%s: %v", path, format, where, err)
	}
	return fd, nil
}

// parseYAML reads a YAML document into a map. A syntax error's place is
// where the parser found the problem, and where the construct it was in
// began ("at line 6, column 4 (in a flow sequence from line 5, column
// 15)"). yaml v3, which viper uses, names the construct's start alone, and
// for a parser error its 0-based line: the line before the construct, not
// the line at fault.
func parseYAML(data []byte) (*fileData, string, error) {
	raw := make(map[string]any)
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return nil, yamlPlace(err), yamlMessage(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, yamlPlace(err), yamlMessage(err)
	}
	fd := &fileData{raw: raw, lines: map[string]int{}}
	if len(doc.Content) == 1 && doc.Content[0].Kind == yaml.MappingNode {
		top := doc.Content[0]
		for i := 0; i+1 < len(top.Content); i += 2 {
			group, value := top.Content[i], top.Content[i+1]
			fd.lines[group.Value] = group.Line
			if value.Kind != yaml.MappingNode {
				continue
			}
			for j := 0; j+1 < len(value.Content); j += 2 {
				leaf := value.Content[j]
				fd.lines[group.Value+"."+leaf.Value] = leaf.Line
			}
		}
	}
	return fd, "", nil
}

// yamlPlace is " at line L, column C" of a YAML error, with the construct
// it was in when that began elsewhere.
func yamlPlace(err error) string {
	var le *yaml.LoadError
	if !errors.As(err, &le) || le.Mark.Line == 0 {
		return ""
	}
	where := fmt.Sprintf(" at line %d, column %d", le.Mark.Line, le.Mark.Column)
	if c := le.ContextMark; le.ContextMsg != "" && c.Line != 0 && (c.Line != le.Mark.Line || c.Column != le.Mark.Column) {
		where += fmt.Sprintf(" (%s from line %d, column %d)", strings.TrimPrefix(le.ContextMsg, "while parsing "), c.Line, c.Column)
	}
	return where
}

// yamlMessage is a YAML error's message without its place (yamlPlace says
// it), or the error as it is.
func yamlMessage(err error) error {
	var le *yaml.LoadError
	if errors.As(err, &le) && le.Mark.Line != 0 && le.Message != "" {
		return errors.New(le.Message)
	}
	return err
}

// parseTOML reads a TOML document into a map. go-toml's syntax errors
// carry their place; a key or table defined twice does not, and is found
// here by walking the document's expressions.
func parseTOML(data []byte) (*fileData, string, error) {
	raw := make(map[string]any)
	lines, dup, walkErr := tomlLines(data)
	if err := toml.Unmarshal(data, &raw); err != nil {
		var de *toml.DecodeError
		if errors.As(err, &de) {
			row, col := de.Position()
			return nil, fmt.Sprintf(" at line %d, column %d", row, col), err
		}
		if dup > 0 {
			return nil, fmt.Sprintf(" at line %d", dup), err
		}
		return nil, "", err
	}
	if walkErr != nil {
		// go-toml took what the walk could not: keep the values, without
		// lines.
		lines = nil
	}
	return &fileData{raw: raw, lines: lines}, "", nil
}

// tomlLines walks a TOML document's expressions and gives the line of each
// group and group.leaf key (as written: in a [table] header, a dotted key
// or an inline table), and the line of the first key or table defined a
// second time (0: none).
func tomlLines(data []byte) (lines map[string]int, dup int, err error) {
	lines = map[string]int{}
	defined := map[string]bool{}
	var p unstable.Parser
	p.Reset(data)
	var table []string
	note := func(path []string, line int) {
		full := strings.Join(path, ".")
		if defined[full] && dup == 0 {
			dup = line
		}
		defined[full] = true
		if len(path) >= 1 {
			if _, ok := lines[path[0]]; !ok {
				lines[path[0]] = line
			}
		}
		if len(path) >= 2 {
			if _, ok := lines[path[0]+"."+path[1]]; !ok {
				lines[path[0]+"."+path[1]] = line
			}
		}
	}
	var keyValue func(n *unstable.Node, prefix []string)
	keyValue = func(n *unstable.Node, prefix []string) {
		path, line := tomlKey(&p, n.Key())
		path = append(append([]string(nil), prefix...), path...)
		note(path, line)
		if v := n.Value(); v.Kind == unstable.InlineTable {
			for it := v.Children(); it.Next(); {
				if c := it.Node(); c.Kind == unstable.KeyValue {
					keyValue(c, path)
				}
			}
		}
	}
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table, unstable.ArrayTable:
			path, line := tomlKey(&p, e.Key())
			table = path
			if e.Kind == unstable.Table {
				note(path, line)
			}
		case unstable.KeyValue:
			keyValue(e, table)
		}
	}
	return lines, dup, p.Error()
}

// tomlKey is a key's parts and the line it starts on.
func tomlKey(p *unstable.Parser, it unstable.Iterator) ([]string, int) {
	var parts []string
	line := 0
	for it.Next() {
		n := it.Node()
		if line == 0 {
			line = p.Shape(n.Raw).Start.Line
		}
		parts = append(parts, string(n.Data))
	}
	return parts, line
}
