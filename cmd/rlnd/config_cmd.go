package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rlnd/rlnd/config"
)

func newConfigCmd(env []string) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Inspect the node configuration",
	}
	cmd.AddCommand(newConfigShowCmd(env))
	return cmd
}

func newConfigShowCmd(env []string) *cobra.Command {
	var (
		src                  config.Source
		showSecrets, sources bool
	)
	cmd := &cobra.Command{
		Use:   "show",
		Short: "Print the effective configuration as YAML",
		Long: "Print the configuration a node would run with: the preset, then the file, then\n" +
			"RLND_* environment variables, then flags, each overriding the one before.\n" +
			"Secrets are shown as \"redacted\" unless --show-secrets is given: " + strings.Join(config.SecretKeys(), ", ") + "\n" +
			"(URLs keep their scheme, host, port and path, less the user info, the query and any\n" +
			"path segment that looks like an API key). With --sources each value is followed by the\n" +
			"layer that set it: default, preset NAME, file PATH line N, env RLND_..., flag --NAME.",
		Example: "  rlnd config show\n" +
			"  rlnd config show --preset devnet --sources\n" +
			"  RLND_NETWORK_CLUSTER_ID=2 rlnd config show --config rlnd.yaml --rln-epoch-period 60s\n" +
			"  rlnd config show --show-secrets",
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, origins, err := loadConfigWithOrigins(cmd, src, env)
			if err != nil {
				return err
			}
			for _, w := range cfg.Warnings() {
				fmt.Fprintf(cmd.ErrOrStderr(), "rlnd: warning: %s\n", w)
			}
			if !showSecrets {
				cfg = cfg.Redacted()
			}
			var out []byte
			if sources {
				out, err = cfg.YAMLWithOrigins(origins)
			} else {
				out, err = cfg.YAML()
			}
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(out)
			return err
		},
	}
	addSourceFlags(cmd, &src)
	cmd.Flags().BoolVar(&showSecrets, "show-secrets", false, "print passwords, keys and URLs in full")
	cmd.Flags().BoolVar(&sources, "sources", false, "follow each value with the layer that set it (# default, # preset NAME, # file PATH line N, # env RLND_..., # flag --NAME)")
	return cmd
}

// addSourceFlags adds --preset, --config and one flag per configuration key.
func addSourceFlags(cmd *cobra.Command, src *config.Source) {
	cmd.Flags().StringVar(&src.Preset, "preset", "", "configuration preset: "+strings.Join(config.PresetNames(), "|")+
		" (default "+config.DefaultPreset+", or $RLND_PRESET)")
	cmd.Flags().StringVar(&src.File, "config", "", "configuration file, YAML or TOML (or $RLND_CONFIG)")
	config.RegisterFlags(cmd.Flags())
}

// loadConfig layers preset, file, environment and flags; invalid
// configuration is a usage error.
func loadConfig(cmd *cobra.Command, src config.Source, env []string) (*config.Config, error) {
	cfg, _, err := loadConfigWithOrigins(cmd, src, env)
	return cfg, err
}

// loadConfigWithOrigins is loadConfig that also says where each key's
// value came from.
func loadConfigWithOrigins(cmd *cobra.Command, src config.Source, env []string) (*config.Config, config.Origins, error) {
	if src.Preset == "" {
		src.Preset = lookupEnv(env, config.EnvPreset)
	}
	if src.File == "" {
		src.File = lookupEnv(env, config.EnvConfigFile)
	}
	src.Flags = cmd.Flags()
	src.Env = env
	// Without a home directory there is no default: `rlnd node` then asks
	// for node.data-dir (see requireDataDir).
	if dir, err := config.DefaultDataDir(lookupEnv(env, config.EnvXDGStateHome)); err == nil {
		src.DefaultDataDir = dir
	}
	cfg, origins, err := config.LoadWithOrigins(src)
	if err != nil {
		if errors.Is(err, config.ErrInvalid) {
			return nil, nil, usageError{err}
		}
		return nil, nil, err
	}
	return cfg, origins, nil
}

func lookupEnv(env []string, key string) string {
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v
		}
	}
	return ""
}

// requireDataDir is a usage error when cfg has no data directory: neither
// node.data-dir nor a default (no home directory).
func requireDataDir(cfg *config.Config, env []string) error {
	if cfg.Node.DataDir != "" {
		return nil
	}
	_, err := config.DefaultDataDir(lookupEnv(env, config.EnvXDGStateHome))
	return usageError{fmt.Errorf("node.data-dir (--data-dir) is not set: %w", err)}
}
