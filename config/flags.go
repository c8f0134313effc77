package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// RegisterFlags adds one flag per configuration key to fs, named after the
// key with '.' replaced by '-' (--network-cluster-id, --rln-epoch-period...),
// nwaku's name of the flag where it has one (--nodekey, --nat...), and
// nwaku's flags that are no key of their own (--tcp-port, --rest-port...:
// see nwaku.go), which Load maps onto keys, ignores with a warning or
// refuses. The defaults shown are those of DefaultPreset; Load only applies
// flags the user set, so flag defaults never override a file, the
// environment or a preset.
func RegisterFlags(fs *pflag.FlagSet) {
	defaults, err := Preset(DefaultPreset)
	if err != nil {
		panic(err) // DefaultPreset is always known
	}
	for _, k := range keys() {
		var value pflag.Value
		base := flagValue{key: k, ptr: k.field(&defaults)}
		switch base.ptr.(type) {
		case *[]int, *[]string:
			value = &sliceFlagValue{flagValue: base}
		default:
			value = &base
		}
		usage := fmt.Sprintf("%s: %s; allowed %s (env %s)", k.name, k.usage, k.allowed, k.envName())
		_, isBool := base.ptr.(*bool)
		for i, name := range k.flagNames() {
			switch {
			case i > len(k.rlndAliases):
				usage = fmt.Sprintf("nwaku's name of --%s", k.flagName())
			case i > 0:
				usage = fmt.Sprintf("the same as --%s", k.flagName())
			}
			// The aliases share the value: whichever is used sets the
			// key, and a list collects the elements of all of them.
			f := fs.VarPF(value, name, "", usage)
			if isBool {
				f.NoOptDefVal = "true"
			}
		}
	}
	registerNwakuFlags(fs)
}

// flagValue is a pflag.Value that parses text with the same rules as the
// environment and stores it into ptr, a field of a Config private to the
// flag set. Its Type names match pflag's own so that FlagSet.GetInt and
// friends also work.
type flagValue struct {
	key keySpec
	ptr any
	// text is the last text set, for a string key: Load decodes it again
	// on top of the lower layers, which a key with normalize needs (an IP
	// alone keeps the port set before), so String gives it back.
	text  string
	isSet bool
}

func (v *flagValue) Set(s string) error {
	if err := decodeInto(v.key, v.ptr, s); err != nil {
		return errors.New(err.text())
	}
	v.text, v.isSet = s, true
	return nil
}

func (v *flagValue) Type() string {
	switch v.ptr.(type) {
	case *string:
		return "string"
	case *bool:
		return "bool"
	case *int:
		return "int"
	case *uint16:
		return "uint16"
	case *uint64:
		return "uint64"
	case *time.Duration:
		return "duration"
	case *[]int:
		return "intSlice"
	case *[]string:
		return "stringSlice"
	}
	return "value"
}

func (v *flagValue) String() string {
	switch p := v.ptr.(type) {
	case *string:
		if v.isSet {
			return v.text
		}
		return *p
	case *bool:
		return strconv.FormatBool(*p)
	case *int:
		return strconv.Itoa(*p)
	case *uint16:
		return strconv.FormatUint(uint64(*p), 10)
	case *uint64:
		return strconv.FormatUint(*p, 10)
	case *time.Duration:
		return p.String()
	case *[]int, *[]string:
		return "[" + strings.Join(v.items(), ",") + "]"
	}
	return ""
}

// items returns the elements of a list-valued flag as text.
func (v *flagValue) items() []string {
	var out []string
	switch p := v.ptr.(type) {
	case *[]int:
		for _, n := range *p {
			out = append(out, strconv.Itoa(n))
		}
	case *[]string:
		out = append(out, *p...)
	}
	return out
}

// sliceFlagValue is a list-valued flag: the first use replaces the default,
// later uses append, and each use may hold a comma-separated list. An empty
// value sets the empty list.
type sliceFlagValue struct {
	flagValue
	changed bool
}

var _ pflag.SliceValue = (*sliceFlagValue)(nil)

func (v *sliceFlagValue) Set(s string) error {
	if !v.changed {
		v.changed = true
		return v.flagValue.Set(s)
	}
	before := v.items()
	if err := v.flagValue.Set(s); err != nil {
		return err
	}
	return v.Replace(append(before, v.items()...))
}

func (v *sliceFlagValue) Append(s string) error {
	return v.Replace(append(v.items(), s))
}

func (v *sliceFlagValue) Replace(items []string) error {
	if err := decodeInto(v.key, v.ptr, items); err != nil {
		return errors.New(err.text())
	}
	return nil
}

func (v *sliceFlagValue) GetSlice() []string {
	return v.items()
}
