package config

import (
	"strings"
	"testing"
)

// A problem in a YAML or TOML file names the line it is on: syntax errors
// where the parser found them (and where the construct they are in began),
// unknown keys and bad values where the key is written.
func TestFileErrorLines(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, file, content string
		want                []string
	}{
		// yaml v3 said "line 4" here: the 0-based line of the flow
		// sequence's start.
		{name: "yaml unclosed flow sequence", file: "a.yaml",
			content: "log:\n  level: info\nnetwork:\n  cluster-id: 1\n  num-shards: [1\nrln:\n  enabled: true\n",
			want:    []string{"as YAML at line 6, column 4 (a flow sequence from line 5, column 15): did not find expected ',' or ']'"}},
		// yaml v3 said "line 3": the line before the block sequence.
		{name: "yaml mapping inside a sequence", file: "g.yaml",
			content: "log:\n  level: info\nnetwork:\n  - a\n  b: c\n",
			want:    []string{"as YAML at line 5, column 3 (a block collection from line 4, column 3): did not find expected '-' indicator"}},
		{name: "yaml bad indentation", file: "b.yaml",
			content: "log:\n  level: info\nnetwork:\n  cluster-id: 1\n   num-shards: 8\n",
			want:    []string{"as YAML at line 5, column 14: mapping values are not allowed in this context"}},
		{name: "yaml tab", file: "c.yaml", content: "log:\n  level: info\nnetwork:\n\tcluster-id: 1\n",
			want: []string{"as YAML at line 4, column 1", "found character that cannot start any token"}},
		{name: "yaml key twice", file: "d.yaml", content: "log:\n  level: info\nnetwork:\n  cluster-id: 1\n  cluster-id: 2\n",
			want: []string{"as YAML at line 5, column 3: mapping key \"cluster-id\" already defined at line 4"}},
		{name: "yaml unknown key", file: "e.yaml", content: "log:\n  level: info\n\n\nnetwork:\n  cluster-id: 1\n  foo: 2\n",
			want: []string{`unknown key "network.foo" in `, "e.yaml line 7 (known keys under network"}},
		{name: "yaml unknown group", file: "f.yaml", content: "log:\n  level: info\nlogging:\n  level: debug\n",
			want: []string{`unknown key "logging" in `, "f.yaml line 3 (known top-level keys"}},
		{name: "yaml bad value", file: "h.yaml", content: "# a node\nnetwork:\n\n  cluster-id: abc\n",
			want: []string{`network.cluster-id: "abc" is not an integer (in `, "h.yaml line 4)"}},
		{name: "toml bad value syntax", file: "a.toml", content: "[log]\nlevel = \"info\"\n[network]\ncluster-id = 1\nnum-shards = \n",
			want: []string{"as TOML at line 5, column 14: toml: incomplete number"}},
		// go-toml gives no place for these.
		{name: "toml key twice", file: "b.toml", content: "[log]\nlevel = \"info\"\n[network]\ncluster-id = 1\ncluster-id = 2\n",
			want: []string{"as TOML at line 5: toml: key cluster-id is already defined"}},
		{name: "toml table twice", file: "c.toml", content: "[log]\nlevel = \"info\"\n\n[network]\n[log]\nformat = \"json\"\n",
			want: []string{"as TOML at line 5: toml: table log already exists"}},
		{name: "toml unknown key", file: "d.toml", content: "[log]\nlevel = \"info\"\n\n[rln]\nenabled = true\nepoch = \"10s\"\n",
			want: []string{`unknown key "rln.epoch" in `, "d.toml line 6 (known keys under rln"}},
		{name: "toml bad value in a dotted key", file: "e.toml", content: "# a node\n\nnetwork.cluster-id = \"x\"\n",
			want: []string{`network.cluster-id: "x" is not an integer (in `, "e.toml line 3)"}},
		{name: "toml bad value in an inline table", file: "f.toml", content: "log = { level = \"info\" }\nnetwork = { num-shards = 8, cluster-id = -1 }\n",
			want: []string{"network.cluster-id: -1 is out of range, allowed 0..65535 (in ", "f.toml line 2)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Load(Source{File: writeFile(t, tt.file, tt.content)})
			if err == nil {
				t.Fatal("loaded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\nlacks %q", err, w)
				}
			}
		})
	}
}

// The lines of a TOML file's keys, however they are written.
func TestTOMLLines(t *testing.T) {
	t.Parallel()
	doc := "# rlnd\n[log]\nlevel = \"info\"\n\n[network]\ncluster-id = 66\n\"num-shards\" = 8\n\nrln.enabled = false\nrest = { enabled = true, address = \"127.0.0.1:0\" }\n"
	lines, dup, err := tomlLines([]byte(doc))
	if err != nil || dup != 0 {
		t.Fatalf("dup %d, %v", dup, err)
	}
	want := map[string]int{"log": 2, "log.level": 3, "network": 5, "network.cluster-id": 6, "network.num-shards": 7,
		"network.rln": 9, "network.rest": 10}
	for k, n := range want {
		if lines[k] != n {
			t.Errorf("%s: line %d, want %d (all: %v)", k, lines[k], n, lines)
		}
	}
}

// Neither parser panics on any input, and what parses has a line for every
// key it holds, of the two levels the configuration has, that is written
// as the configuration's keys are (a lower-case letter, then letters, digits
// and dashes; not YAML's true, false and null).
func FuzzParseConfigFile(f *testing.F) {
	f.Add([]byte("network:\n  cluster-id: 66\n"), false)
	f.Add([]byte("[network]\ncluster-id = 66\nrest = { enabled = true }\n"), true)
	f.Fuzz(func(t *testing.T, data []byte, isTOML bool) {
		parse := parseYAML
		if isTOML {
			parse = parseTOML
		}
		fd, _, err := parse(data)
		if err != nil || fd.lines == nil {
			return
		}
		plain := func(k string) bool {
			return k != "" && k[0] >= 'a' && k[0] <= 'z' && strings.Trim(k, "abcdefghijklmnopqrstuvwxyz0123456789-") == "" &&
				k != "true" && k != "false" && k != "null"
		}
		for group, v := range fd.raw {
			if !plain(group) {
				continue
			}
			if fd.lines[group] < 1 {
				t.Errorf("no line for %q in %q", group, data)
			}
			if sub, ok := asMap(v); ok {
				for leaf := range sub {
					if plain(leaf) && fd.lines[group+"."+leaf] < 1 {
						t.Errorf("no line for %q in %q", group+"."+leaf, data)
					}
				}
			}
		}
	})
}
