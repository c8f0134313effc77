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
		for _, a := range k.aliases {
			if !strings.Contains(line, "`--"+a+"`") {
				t.Errorf("README.md's row of %s does not name its alias --%s", k.name, a)
			}
		}
	}
}
