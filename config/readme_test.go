package config

import (
	"os"
	"strings"
	"testing"
)

// Every key has its row in the README's configuration table, starting
// with its name, variable and flag, and names nwaku's flag where it has
// one.
func TestREADMEConfigurationTable(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(data)
	for _, k := range keys() {
		row := "\n| `" + k.name + "` | `" + k.envName() + "` / `--" + k.flagName() + "`"
		i := strings.Index(readme, row)
		if i < 0 {
			t.Errorf("README.md has no row starting %q", row[1:])
			continue
		}
		line, _, _ := strings.Cut(readme[i+1:], "\n")
		for _, a := range append(k.rlndAliases, k.aliases...) {
			if !strings.Contains(line, "`--"+a+"`") {
				t.Errorf("README.md's row of %s does not name its alias --%s", k.name, a)
			}
		}
	}
}

// README.md's "nwaku command lines" names every nwaku flag rlnd knows: the
// aliases of keys and the flags it maps, ignores or refuses.
func TestREADMENwakuCommandLines(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(data), "\n## nwaku command lines\n")
	if !ok {
		t.Fatal(`README.md has no "## nwaku command lines" section`)
	}
	section, _, _ = strings.Cut(section, "\n#")
	var names []string
	for _, k := range keys() {
		names = append(names, k.aliases...)
	}
	for _, nf := range nwakuFlags() {
		names = append(names, nf.name)
	}
	for _, name := range names {
		if !strings.Contains(section, "`--"+name+"`") && !strings.Contains(section, "`--"+name+"=") {
			t.Errorf(`README.md's "nwaku command lines" does not name --%s`, name)
		}
	}
}
