package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rlnd/rlnd/rln/artefacts"
	"github.com/rlnd/rlnd/simulation"
	"github.com/rlnd/rlnd/simulation/k8s"
)

// simulationRunner runs a scenario: simulation.Run, or a fake in tests.
type simulationRunner func(context.Context, simulation.Scenario, simulation.Options) (*simulation.Result, error)

func newSimulateCmd(runSim simulationRunner) *cobra.Command {
	var (
		scenarioFile, preset, outDir, artefactsDir string
		emit                                       string
		image, namespace                           string
		seed                                       uint64
		asJSON, quiet                              bool
	)
	cmd := &cobra.Command{
		Use:   "simulate (--scenario FILE | --preset NAME) [--emit k8s DIR]",
		Short: "Simulate a relay network of thousands of nodes and report what happened",
		Long: "Run the relay core (rlnd's gossipsub router and Waku relay validation with RLN) for every\n" +
			"node of a scenario in one process under virtual time, and report delivery, the time to\n" +
			"reach 50%, 95% and 100% of the subscribers, bandwidth per node (data and control, in\n" +
			"and out), amplification, duplicates, hops, mesh degrees, what spam achieved, and the\n" +
			"simulator's own wall time and memory. The same scenario and seed give the same result.\n" +
			"A scenario is a YAML file (see the README's Simulation section) or a preset; the presets\n" +
			"that reproduce published runs print the published figures beside the simulator's.\n" +
			"Presets: " + strings.Join(simulation.PresetNames(), ", ") + ".\n" +
			"The progress goes to stderr; the summary (or with --json the result) to stdout; --out\n" +
			"writes the summary, result.json, sim.json, CSV files and PNG plots into a folder.",
		Example: "  rlnd simulate --preset small\n" +
			"  rlnd simulate --preset nwaku-1kb-1s --out runs/nwaku-1kb-1s\n" +
			"  rlnd simulate --scenario my-network.yaml --seed 7 --json > result.json\n" +
			"  rlnd simulate --preset nwaku-1kb-1s --emit k8s manifests/ --image registry.example/rlnd:v1",
		Args: func(cmd *cobra.Command, args []string) error {
			if emit != "" {
				return exactArgs(1)(cmd, args)
			}
			return exactArgs(0)(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			var (
				s   simulation.Scenario
				pub map[string]simulation.PublishedFigure
				err error
			)
			switch {
			case scenarioFile != "" && preset != "":
				return usageError{errors.New("--scenario and --preset: give one of them, not both")}
			case scenarioFile != "":
				if s, err = simulation.Load(scenarioFile); err != nil {
					return usageError{err}
				}
			case preset != "":
				if s, err = simulation.Preset(preset); err != nil {
					return usageError{err}
				}
				pub = simulation.PresetPublished(preset)
			default:
				return usageError{fmt.Errorf("give a scenario: --scenario FILE or --preset NAME (presets: %s)", strings.Join(simulation.PresetNames(), ", "))}
			}
			if cmd.Flags().Changed("seed") {
				s.Seed = seed
			}
			if emit != "" {
				return emitK8s(cmd.OutOrStdout(), s, emit, args[0], k8s.Options{Image: image, Namespace: namespace})
			}
			if outDir != "" {
				if err := os.MkdirAll(outDir, 0o755); err != nil {
					return usageError{fmt.Errorf("--out %s: %w", outDir, err)}
				}
			}
			stderr := cmd.ErrOrStderr()
			if artefactsDir == "" && s.RLN.Enabled {
				// ../shared, else the cache, fetched into the first time
				// (a line per file on stderr unless --quiet); a run without
				// RLN reads none.
				ao := artefacts.Options{Progress: stderr}
				if quiet {
					ao.Progress = nil
				}
				loc, err := artefacts.Resolve(cmd.Context(), ao)
				if err != nil {
					return err
				}
				artefactsDir = loc.Dir
			}
			opts := simulation.Options{
				Logger:       slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
				ArtefactsDir: artefactsDir,
			}
			if os.Getenv("GOGC") == "" {
				// One run in this process: collect garbage less often.
				opts.GCPercent = simulation.GCPercentFor(s)
			}
			var bar *simulation.ProgressBar
			if !quiet {
				bar = simulation.NewProgressBar(stderr, isTerminal(stderr))
				opts.Progress = bar.Update
			}
			res, err := runSim(cmd.Context(), s, opts)
			if bar != nil {
				bar.Finish()
			}
			if err != nil {
				return fmt.Errorf("simulate %s: %w", s.Name, err)
			}
			if outDir != "" {
				if err := simulation.WriteReport(outDir, res, pub); err != nil {
					return err
				}
			}
			out := cmd.OutOrStdout()
			if asJSON {
				b, err := simulation.ResultJSON(res)
				if err != nil {
					return err
				}
				_, err = out.Write(b)
				return err
			}
			if err := simulation.WriteSummary(out, res, pub); err != nil {
				return err
			}
			if outDir != "" {
				_, err = fmt.Fprintf(out, "\nreport written to %s\n", outDir)
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&scenarioFile, "scenario", "", "scenario file (YAML)")
	f.StringVar(&preset, "preset", "", "preset scenario: "+strings.Join(simulation.PresetNames(), ", "))
	f.Uint64Var(&seed, "seed", 0, "seed of every random choice, instead of the scenario's")
	f.StringVar(&outDir, "out", "", "folder to write the report into (summary, result.json, sim.json, CSV, PNG)")
	f.BoolVar(&asJSON, "json", false, "print the result as JSON instead of the summary")
	f.BoolVar(&quiet, "quiet", false, "no progress on stderr")
	f.StringVar(&artefactsDir, "artefacts", "", "RLN artefacts folder, the only one looked at (default: the one \"rlnd rln artefacts path\" names, fetched on first use)")
	f.StringVar(&emit, "emit", "", "instead of simulating, render the scenario for real nodes: --emit k8s DIR writes Kubernetes manifests into DIR")
	f.StringVar(&image, "image", k8s.DefaultImage, "with --emit k8s: the container image holding rlnd")
	f.StringVar(&namespace, "namespace", k8s.DefaultNamespace, "with --emit k8s: the Kubernetes namespace")
	return cmd
}

// emitK8s renders s for target (k8s, the one there is) into dir.
func emitK8s(out io.Writer, s simulation.Scenario, target, dir string, o k8s.Options) error {
	if target != "k8s" {
		return usageError{fmt.Errorf("--emit %s: want --emit k8s DIR (k8s is the one target)", target)}
	}
	ms, err := k8s.Render(s, o)
	if err != nil {
		return usageError{fmt.Errorf("--emit k8s: %w", err)}
	}
	if err := k8s.Write(dir, ms); err != nil {
		return err
	}
	fmt.Fprintf(out, "%d manifests for %s written to %s; apply them with: kubectl apply -f %s\n", len(ms), s.Name, dir, dir)
	notes, err := k8s.Notes(s, o)
	if err != nil {
		return err
	}
	for _, n := range notes {
		fmt.Fprintf(out, "note: %s\n", n)
	}
	return nil
}

// isTerminal says whether w is a terminal (a character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
