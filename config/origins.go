package config

import (
	"fmt"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Layer is the kind of place a key's value came from; each one overrides
// the one before.
type Layer int

// The layers, lowest first.
const (
	// LayerDefault is the built-in default: The Waku Network's (the twn
	// preset's), or the user's state directory for node.data-dir.
	LayerDefault Layer = iota
	// LayerPreset is a preset named by --preset or RLND_PRESET, for the
	// keys where it differs from the default (all of them for twn named
	// explicitly).
	LayerPreset
	LayerFile
	LayerEnv
	LayerFlag
)

// Origin says where a key's value came from.
type Origin struct {
	Layer Layer
	// Name is the preset's name, the file's path, the environment
	// variable, or the flag with its dashes (--num-shards); for a default
	// it may say which.
	Name string
	// Line is the file's line that set the key (0: not known).
	Line int
}

// String is the origin as `rlnd config show --sources` prints it:
// "default", "preset devnet", "file rlnd.yaml line 4", "env
// RLND_NETWORK_CLUSTER_ID", "flag --num-shards".
func (o Origin) String() string {
	switch o.Layer {
	case LayerPreset:
		return "preset " + o.Name
	case LayerFile:
		if o.Line > 0 {
			return fmt.Sprintf("file %s line %d", o.Name, o.Line)
		}
		return "file " + o.Name
	case LayerEnv:
		return "env " + o.Name
	case LayerFlag:
		return "flag " + o.Name
	}
	if o.Name != "" {
		return "default (" + o.Name + ")"
	}
	return "default"
}

// Origins maps each key (network.cluster-id) to where its value came from;
// a key it lacks has its default.
type Origins map[string]Origin

// Of is the origin of key: its entry, else the default.
func (o Origins) Of(key string) Origin {
	if v, ok := o[key]; ok {
		return v
	}
	return Origin{Layer: LayerDefault}
}

// presetOrigins is the origin of every key of c, the named preset's values
// (name may be empty, or any case): the preset where it was named and
// differs from the default preset, or was named and is the default preset,
// else the default.
func presetOrigins(name string, c *Config) Origins {
	origins := Origins{}
	if name == "" {
		return origins
	}
	name = strings.ToLower(name)
	if name == DefaultPreset {
		for _, k := range keys() {
			origins[k.name] = Origin{Layer: LayerPreset, Name: name}
		}
		return origins
	}
	def, err := Preset(DefaultPreset)
	if err != nil {
		return origins
	}
	mine, base := c.values(), def.values()
	for _, k := range keys() {
		if mine[k.name] != base[k.name] {
			origins[k.name] = Origin{Layer: LayerPreset, Name: name}
		}
	}
	return origins
}

// values is every key's value in c as text, for telling which changed.
func (c *Config) values() map[string]string {
	out := make(map[string]string)
	for _, k := range keys() {
		out[k.name] = fmt.Sprintf("%v", reflect.ValueOf(k.field(c)).Elem().Interface())
	}
	return out
}

// changed records o as the origin of every key whose value in c differs
// from before (c.values() taken earlier).
func (o Origins) changed(before map[string]string, c *Config, origin Origin) {
	for key, v := range c.values() {
		if before[key] != v {
			o[key] = origin
		}
	}
}

// YAMLWithOrigins renders the configuration as YAML, as YAML does, with
// each key's origin as a comment on its line ("cluster-id: 66 # preset
// devnet"); lists are written in flow style ([a, b]) to keep them on one
// line. Loading the output as a file gives back an equal Config.
func (c *Config) YAMLWithOrigins(o Origins) ([]byte, error) {
	var doc yaml.Node
	if err := doc.Encode(c); err != nil {
		return nil, fmt.Errorf("config: encoding as YAML: %w", err)
	}
	if doc.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("config: encoding as YAML: a %v, not a mapping", doc.Kind)
	}
	for i := 0; i+1 < len(doc.Content); i += 2 {
		group, leaves := doc.Content[i].Value, doc.Content[i+1]
		for j := 0; j+1 < len(leaves.Content); j += 2 {
			key, value := group+"."+leaves.Content[j].Value, leaves.Content[j+1]
			if value.Kind == yaml.SequenceNode {
				value.Style = yaml.FlowStyle
			}
			value.LineComment = o.Of(key).String()
		}
	}
	out, err := yaml.Marshal(&doc)
	if err != nil {
		return nil, fmt.Errorf("config: encoding as YAML: %w", err)
	}
	return out, nil
}
