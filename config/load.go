package config

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/spf13/pflag"
)

// Environment variables with the RLND_ prefix that are not configuration keys
// but are read by the command line: --config, --preset, and the RLN keystore
// password of the membership commands. Load skips them.
const (
	EnvConfigFile       = "RLND_CONFIG"
	EnvPreset           = "RLND_PRESET"
	EnvKeystorePassword = "RLND_KEYSTORE_PASSWORD"
	// EnvArtefactsPrefix starts the variables read by rln/artefacts
	// (RLND_ARTEFACTS_CACHE, _URL, _FETCH): not configuration keys, and
	// not unknown ones either.
	EnvArtefactsPrefix = "RLND_ARTEFACTS_"
)

// commandLineEnv reports whether name is one of the variables the command
// line reads rather than a key.
func commandLineEnv(name string) bool {
	return name == EnvConfigFile || name == EnvPreset || name == EnvKeystorePassword ||
		strings.HasPrefix(name, EnvArtefactsPrefix)
}

// Source says where Load reads configuration from. Each layer overrides the
// one before: built-in defaults, Preset, File, Env, Flags.
type Source struct {
	// Preset names the preset to start from; empty means DefaultPreset.
	Preset string
	// File is a YAML (.yaml, .yml) or TOML (.toml) file; empty means none.
	File string
	// Flags holds flags added by RegisterFlags; only flags the user set
	// count. nil means no flags.
	Flags *pflag.FlagSet
	// Env is the environment in os.Environ form; only RLND_* variables are
	// read. nil means no environment.
	Env []string
	// DefaultDataDir is node.data-dir when no layer sets it (the command
	// line passes DefaultDataDir's); empty leaves it unset.
	DefaultDataDir string
}

// Load builds the configuration from src and validates it. Every error it
// returns wraps ErrInvalid; problems with values are all reported together,
// each naming its key and where the value came from.
func Load(src Source) (*Config, error) {
	cfg, _, err := LoadWithOrigins(src)
	return cfg, err
}

// LoadWithOrigins is Load that also says, for every key, which layer set
// its value (see Origins).
func LoadWithOrigins(src Source) (*Config, Origins, error) {
	cfg, err := Preset(src.Preset)
	if err != nil {
		return nil, nil, err
	}
	origins := presetOrigins(src.Preset, &cfg)
	table := keys()

	var problems []error
	if src.File != "" {
		fd, err := readFile(src.File)
		if err != nil {
			return nil, nil, err
		}
		problems = append(problems, applyFile(&cfg, table, src.File, fd, origins)...)
	}
	problems = append(problems, applyEnv(&cfg, table, src.Env, origins)...)
	if src.Flags != nil {
		problems = append(problems, applyFlags(&cfg, table, src.Flags, origins)...)
		// nwaku's flags that are no key of their own apply last, on
		// top of the keys (see nwaku.go).
		problems = append(problems, applyNwakuFlags(&cfg, src.Flags, origins)...)
	}
	if len(problems) > 0 {
		return nil, nil, errors.Join(problems...)
	}
	if cfg.Node.DataDir == "" && src.DefaultDataDir != "" {
		cfg.Node.DataDir = src.DefaultDataDir
		origins["node.data-dir"] = Origin{Layer: LayerDefault, Name: "the user's state directory"}
	}

	if err := cfg.Validate(); err != nil {
		return nil, nil, err
	}
	return &cfg, origins, nil
}

// applyFile stores the values of fd, the parsed file at path, into cfg and
// records their origin. Each problem names the file and the line.
func applyFile(cfg *Config, table []keySpec, path string, fd *fileData, origins Origins) []error {
	byName := make(map[string]keySpec, len(table))
	for _, k := range table {
		byName[k.name] = k
	}
	groups := groupNames(table)

	var problems []error
	for _, group := range sortedKeys(fd.raw) {
		if !slices.Contains(groups, group) {
			problems = append(problems, problemf(nil, "unknown key %q in %s%s (known top-level keys: %s)",
				group, path, fd.at(group), joinNames(groups)))
			continue
		}
		value := fd.raw[group]
		if value == nil {
			continue // an empty group sets nothing
		}
		sub, ok := asMap(value)
		if !ok {
			problems = append(problems, problemf(nil, "%s in %s%s: %s is not a table of keys (known keys under %s: %s)",
				group, path, fd.at(group), show(value), group, joinNames(leavesOf(table, group))))
			continue
		}
		for _, leaf := range sortedKeys(sub) {
			name := group + "." + leaf
			k, ok := byName[name]
			if !ok {
				problems = append(problems, problemf(nil, "unknown key %q in %s%s (known keys under %s: %s)",
					name, path, fd.at(name), group, joinNames(leavesOf(table, group))))
				continue
			}
			if verr := decodeInto(k, k.field(cfg), sub[leaf]); verr != nil {
				problems = append(problems, valueProblem(k, verr, "in "+path+fd.at(name)))
				continue
			}
			origins[name] = Origin{Layer: LayerFile, Name: path, Line: fd.lines[name]}
		}
	}
	return problems
}

// applyEnv stores the values of RLND_* variables into cfg and records
// their origin. Later entries win over earlier ones with the same name.
func applyEnv(cfg *Config, table []keySpec, env []string, origins Origins) []error {
	byEnv := make(map[string]keySpec, len(table))
	for _, k := range table {
		byEnv[k.envName()] = k
	}

	var problems []error
	for _, entry := range env {
		name, value, ok := strings.Cut(entry, "=")
		if !ok || !strings.HasPrefix(name, envPrefix) || commandLineEnv(name) {
			continue
		}
		k, ok := byEnv[name]
		if !ok {
			problems = append(problems, problemf(nil, "unknown environment variable %s (%s)",
				name, knownEnv(table, name)))
			continue
		}
		if verr := decodeInto(k, k.field(cfg), value); verr != nil {
			problems = append(problems, valueProblem(k, verr, "from "+name))
			continue
		}
		origins[k.name] = Origin{Layer: LayerEnv, Name: name}
	}
	return problems
}

// knownEnv describes the variables that might have been meant by name.
func knownEnv(table []keySpec, name string) string {
	for _, g := range groupNames(table) {
		prefix := envPrefix + envUpper(g) + "_"
		if !strings.HasPrefix(name, prefix) {
			continue
		}
		var vars []string
		for _, k := range table {
			if k.group() == g {
				vars = append(vars, k.envName())
			}
		}
		return fmt.Sprintf("known variables under %s: %s", prefix, joinNames(vars))
	}
	var prefixes []string
	for _, g := range groupNames(table) {
		prefixes = append(prefixes, envPrefix+envUpper(g)+"_*")
	}
	return fmt.Sprintf("known variables: %s, and %s, %s and %s for the command line",
		joinNames(prefixes), EnvConfigFile, EnvPreset, EnvKeystorePassword)
}

// applyFlags stores the values of the flags the user set into cfg and
// records their origin.
func applyFlags(cfg *Config, table []keySpec, fs *pflag.FlagSet, origins Origins) []error {
	var problems []error
	for _, k := range table {
		var f *pflag.Flag
		for _, name := range k.flagNames() {
			if g := fs.Lookup(name); g != nil && g.Changed {
				f = g
			}
		}
		if f == nil {
			continue
		}
		var raw any = f.Value.String()
		if list, ok := f.Value.(pflag.SliceValue); ok {
			raw = list.GetSlice()
		}
		if verr := decodeInto(k, k.field(cfg), raw); verr != nil {
			problems = append(problems, valueProblem(k, verr, "from flag --"+f.Name))
			continue
		}
		origins[k.name] = Origin{Layer: LayerFlag, Name: "--" + f.Name}
	}
	return problems
}

// valueProblem turns a decoding failure into an error naming the key, the
// list element if any, and where the value came from.
func valueProblem(k keySpec, verr *valueError, origin string) error {
	key := k.name
	if verr.index >= 0 {
		key = fmt.Sprintf("%s[%d]", k.name, verr.index)
	}
	msg := verr.msg
	if k.secret != notSecret {
		// The message quotes the value; secret keys are strings, so
		// the only failure is a value that is not one.
		msg = "the value (not shown: the key is secret) is not a string; quote the value"
	}
	return problemf(nil, "%s: %s (%s)", key, msg, origin)
}

// asMap returns v as a map with string keys, if it is a map.
func asMap(v any) (map[string]any, bool) {
	switch m := v.(type) {
	case map[string]any:
		return m, true
	case map[any]any:
		out := make(map[string]any, len(m))
		for key, val := range m {
			out[fmt.Sprint(key)] = val
		}
		return out, true
	}
	return nil, false
}

func sortedKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
