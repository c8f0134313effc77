package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rlnd/rlnd/config"
	"github.com/rlnd/rlnd/rln/artefacts"
)

// errArtefactsBad makes `rlnd rln artefacts verify` exit 1 after its
// report.
var errArtefactsBad = errors.New("RLN artefacts: not every file is there with its pinned sha256")

// artefactsOptions are the resolver's options for a command: the
// RLND_ARTEFACTS_* variables of env, dir as the configured folder.
func artefactsOptions(env []string, dir string, progress io.Writer) artefacts.Options {
	return artefacts.Options{
		Dir:      dir,
		Progress: progress,
		Getenv:   func(k string) string { return lookupEnv(env, k) },
	}
}

// artefactsError makes a bad RLND_ARTEFACTS_* value a usage error.
func artefactsError(err error) error {
	if errors.Is(err, artefacts.ErrSetting) {
		return usageError{err}
	}
	return err
}

const artefactsLong = "rlnd proves and verifies with the Waku RLNv2 ceremony artefacts: rln_final.zkey,\n" +
	"verification_key.json and graph.bin, each checked by its pinned sha256. The folder used is,\n" +
	"in order: rln.artefacts-dir when set (only it); else ../shared/rln/tree_depth_20 beside the\n" +
	"working directory, one of its parents, or the binary; else the cache folder\n" +
	"($RLND_ARTEFACTS_CACHE, else the user cache folder + /rlnd/rln/tree_depth_20), the missing\n" +
	"or wrong files of which are fetched on first use from zerokit's repository (URLs pinned by\n" +
	"commit; $RLND_ARTEFACTS_URL replaces them by a base URL under which the files sit by name).\n" +
	"RLND_ARTEFACTS_FETCH=0 never fetches: the error then says where to put which files."

func newRLNArtefactsCmd(env []string) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "artefacts",
		Short: "Locate, fetch and verify the RLN ceremony artefacts",
		Long:  artefactsLong,
		Example: "  rlnd rln artefacts path\n" +
			"  rlnd rln artefacts fetch\n" +
			"  rlnd rln artefacts verify --dir /srv/rln\n" +
			"  RLND_ARTEFACTS_FETCH=0 rlnd node        # offline: never fetch",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageError{fmt.Errorf("%s: unknown subcommand %q: give path, fetch or verify", cmd.CommandPath(), args[0])}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usageError{fmt.Errorf("%s: give a subcommand: path, fetch or verify", cmd.CommandPath())}
		},
	}
	cmd.AddCommand(newArtefactsPathCmd(env), newArtefactsFetchCmd(env), newArtefactsVerifyCmd(env))
	return cmd
}

func newArtefactsPathCmd(env []string) *cobra.Command {
	var src config.Source
	cmd := &cobra.Command{
		Use:   "path",
		Short: "Print the artefacts folder rlnd would use, and its source, without fetching",
		Long: "Print the folder that rlnd node, devnet, simulate and rln bench would load the RLN\n" +
			"artefacts from (first line) and where it comes from (second line), without fetching.\n" +
			"rln.artefacts-dir is read from the configuration as rlnd node reads it (--config, RLND_*\n" +
			"variables, --rln-artefacts-dir).\n\n" + artefactsLong,
		Example: "  rlnd rln artefacts path\n" +
			"  RLND_ARTEFACTS_CACHE=/var/cache/rlnd rlnd rln artefacts path\n" +
			"  rlnd rln artefacts path --rln-artefacts-dir /srv/rln",
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd, src, env)
			if err != nil {
				return err
			}
			loc, err := artefacts.Locate(artefactsOptions(env, cfg.RLN.ArtefactsDir, nil))
			if err != nil {
				return artefactsError(err)
			}
			out := cmd.OutOrStdout()
			fmt.Fprintln(out, loc.Dir)
			switch loc.Source {
			case artefacts.SourceCache:
				fmt.Fprintf(out, "source: cache (complete, sha256 checked)\n")
			case artefacts.SourceFetch:
				fmt.Fprintf(out, "source: cache, to be fetched on first use (missing or wrong: %s; \"rlnd rln artefacts fetch\" fetches them now)\n",
					strings.Join(loc.Fetch, ", "))
			default:
				fmt.Fprintf(out, "source: %s\n", loc.Source)
			}
			return nil
		},
	}
	addSourceFlags(cmd, &src)
	return cmd
}

func newArtefactsFetchCmd(env []string) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "fetch",
		Short: "Fetch the artefacts the cache folder lacks",
		Long: "Fetch into the cache folder the artefacts it lacks or holds with a wrong sha256, so the\n" +
			"machine can run offline afterwards; a line per file goes to stderr. The cache is filled\n" +
			"even when ../shared/rln/tree_depth_20 would be used first (the command says so) or\n" +
			"rln.artefacts-dir is set (which is then the only folder used).\n\n" +
			artefactsLong,
		Example: "  rlnd rln artefacts fetch\n" +
			"  RLND_ARTEFACTS_CACHE=/var/cache/rlnd rlnd rln artefacts fetch\n" +
			"  RLND_ARTEFACTS_URL=http://mirror.lan/rln rlnd rln artefacts fetch",
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			o := artefactsOptions(env, "", cmd.ErrOrStderr())
			loc, err := artefacts.Fetch(cmd.Context(), o)
			if err != nil {
				return artefactsError(err)
			}
			out := cmd.OutOrStdout()
			if loc.Source == artefacts.SourceCache {
				fmt.Fprintf(out, "nothing to fetch: %s holds the three files with their sha256\n", loc.Dir)
			} else {
				fmt.Fprintf(out, "fetched %s into %s (sha256 checked)\n", strings.Join(loc.Fetch, ", "), loc.Dir)
			}
			if first, err := artefacts.Locate(o); err == nil && first.Source == artefacts.SourceShared {
				fmt.Fprintf(out, "note: %s is used before the cache while it is there\n", first.Dir)
			}
			return nil
		},
	}
	return cmd
}

func newArtefactsVerifyCmd(env []string) *cobra.Command {
	var (
		src config.Source
		dir string
	)
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Check the sha256 of the three artefacts",
		Long: "Check the three artefacts in the folder rlnd would use (see \"rlnd rln artefacts path\"),\n" +
			"or in --dir, and print each with OK, BAD (another size or sha256, or unreadable) or\n" +
			"MISSING. Exits 1 when any is not OK. Nothing is fetched.",
		Example: "  rlnd rln artefacts verify\n" +
			"  rlnd rln artefacts verify --dir ~/Downloads/tree_depth_20",
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			if dir == "" {
				cfg, err := loadConfig(cmd, src, env)
				if err != nil {
					return err
				}
				loc, err := artefacts.Locate(artefactsOptions(env, cfg.RLN.ArtefactsDir, nil))
				if err != nil {
					return artefactsError(err)
				}
				dir = loc.Dir
				fmt.Fprintf(out, "%s\nsource: %s\n", dir, loc.Source)
			} else {
				fmt.Fprintf(out, "%s\nsource: --dir\n", dir)
			}
			bad := 0
			for _, st := range artefacts.Verify(dir) {
				switch st.Status {
				case artefacts.StatusOK:
					fmt.Fprintf(out, "%-8s %-22s sha256 %s\n", st.Status, st.File.Name, st.SHA256)
				case artefacts.StatusMissing:
					bad++
					fmt.Fprintf(out, "%-8s %-22s want sha256 %s, from %s\n", st.Status, st.File.Name, st.File.SHA256, st.File.URL())
				default:
					bad++
					fmt.Fprintf(out, "%-8s %-22s %v\n", st.Status, st.File.Name, st.Err)
				}
			}
			if bad > 0 {
				return fmt.Errorf("%w: %d of 3 in %s", errArtefactsBad, bad, dir)
			}
			return nil
		},
	}
	addSourceFlags(cmd, &src)
	cmd.Flags().StringVar(&dir, "dir", "", "check this folder instead of the one rlnd would use")
	return cmd
}
