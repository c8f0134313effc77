package main

import (
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	gethlog "github.com/ethereum/go-ethereum/log"
	"github.com/libp2p/go-libp2p/gologshim"
	"github.com/spf13/cobra"

	"github.com/rlnd/rlnd/config"
	"github.com/rlnd/rlnd/node"
)

// newLogger builds the node's logger from the log configuration.
func newLogger(cmd *cobra.Command, c config.LogConfig) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(cmd.ErrOrStderr(), opts))
	}
	return slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), opts))
}

// routeLibraryLogs sends the libraries' own logs through the node's
// handler, in its format and at its level: go-libp2p's (gologshim binds a
// subsystem's logger to the default handler at its first record, so this
// runs before any host exists) and go-ethereum's root logger (its discv5
// already logs through the node's handler). Both are process-wide, which
// is why only main sets it up (libraryLogs), and the packages never do.
func routeLibraryLogs(log *slog.Logger) {
	gologshim.SetDefaultHandler(log.Handler())
	gethlog.SetDefault(gethlog.NewLogger(log.Handler()))
}

// libraryLogs is routeLibraryLogs in the rlnd process (main sets it); nil
// in tests, whose commands share one process.
var libraryLogs func(*slog.Logger)

func newNodeCmd(env []string) *cobra.Command {
	var src config.Source
	cmd := &cobra.Command{
		Use:   "node",
		Short: "Run a relay node",
		Long: "Run a Waku relay node: listen on the configured addresses, dial the static peers, follow\n" +
			"the membership registry on the chain, validate every message's RLN proof and relay the\n" +
			"valid ones on the cluster's shards. Prometheus metrics (/metrics) and the node's health\n" +
			"(/health: 200 when ready, 503 with the reason when not) are served when metrics.enabled is\n" +
			"set. The node key (so the peer id), the sync's checkpoint (and the store archive and\n" +
			"lightpush slot file unless their paths are set) live in node.data-dir (--data-dir; default\n" +
			"$XDG_STATE_HOME/rlnd or ~/.local/state/rlnd); --nodekey sets the key instead. nwaku's\n" +
			"address flags work too: --ports-shift, --ext-multiaddr, --nat, --dns4-domain-name,\n" +
			"--websocket-secure-support. SIGINT or SIGTERM stops the node gracefully; SIGHUP reloads the\n" +
			"lightpush allowlist and the secure websocket certificate.",
		Example: "  rlnd node --preset devnet\n" +
			"  rlnd node --ports-shift 1 --data-dir ~/.local/state/rlnd-2   # a second node on this host\n" +
			"  rlnd node --nat extip:203.0.113.7 --dns4-domain-name node.example.org \\\n" +
			"    --websocket-secure-support --websocket-secure-cert-path cert.pem --websocket-secure-key-path key.pem\n" +
			"  rlnd node --config rlnd.yaml --p2p-static-peers /ip4/10.0.0.2/tcp/60000/p2p/16Uiu2...\n" +
			"  RLND_CHAIN_RPC_URL=https://rpc.sepolia.linea.build rlnd node",
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd, src, env)
			if err != nil {
				return err
			}
			if err := requireDataDir(cfg, env); err != nil {
				return err
			}
			log := newLogger(cmd, cfg.Log)
			if libraryLogs != nil {
				libraryLogs(log)
			}
			for _, w := range cfg.Warnings() {
				log.Warn(w)
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			n, err := node.New(ctx, node.Options{Config: cfg, Logger: log, Version: versionString()})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "rlnd node %s\n", n.Host().ID())
			for _, a := range n.Addrs() {
				fmt.Fprintf(out, "listening on %s\n", a)
			}
			for _, a := range n.Host().AdvertisedAddrs() {
				fmt.Fprintf(out, "announcing %s/p2p/%s\n", a, n.Host().ID())
			}
			if a := n.MetricsAddr(); a != nil {
				fmt.Fprintf(out, "metrics on http://%s/metrics\n", a)
				fmt.Fprintf(out, "health on http://%s/health\n", a)
			}
			if a := n.RESTAddr(); a != "" {
				fmt.Fprintf(out, "REST API on http://%s\n", a)
			}
			// SIGHUP reloads what can change without a restart (the
			// lightpush allowlist, the secure websocket certificate).
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
		wait:
			for {
				select {
				case <-ctx.Done():
					break wait
				case <-hup:
					if err := n.Reload(); err != nil {
						log.Error("reload on SIGHUP", "err", err)
					}
				}
			}
			log.Info("shutting down")
			done := make(chan struct{})
			go func() { n.Close(); close(done) }()
			select {
			case <-done:
			case <-time.After(15 * time.Second):
				return fmt.Errorf("shutdown took over 15 s")
			}
			fmt.Fprintln(out, "stopped")
			return nil
		},
	}
	addSourceFlags(cmd, &src)
	return cmd
}
