package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/spf13/cobra"

	"github.com/rlnd/rlnd/autoshard"
	"github.com/rlnd/rlnd/config"
	"github.com/rlnd/rlnd/p2p"
)

// flagRange is nil when lo <= v <= hi, else the usage error every integer
// flag of the command line gives for a value out of its range: never a
// silent default.
func flagRange(name string, v, lo, hi int) error {
	if v < lo || v > hi {
		return usageError{fmt.Errorf("--%s %d: want %d to %d", name, v, lo, hi)}
	}
	return nil
}

// networkFlags are the flags of the commands that address a cluster
// without being a node of it (lightpush send, store query, filter
// subscribe, shard): where its cluster id and shard count come from.
type networkFlags struct {
	preset, file       string
	cluster, numShards int
}

// addNetworkFlags adds --preset, --config, --cluster and --num-shards.
func addNetworkFlags(cmd *cobra.Command, nf *networkFlags) {
	f := cmd.Flags()
	f.StringVar(&nf.preset, "preset", "", "take the cluster id and shard count from this preset, as rlnd node does: "+presetList()+
		" (default "+config.DefaultPreset+", or $"+config.EnvPreset+")")
	f.StringVar(&nf.file, "config", "", "take the cluster id and shard count from this node configuration file, YAML or TOML (or $"+config.EnvConfigFile+")")
	f.IntVar(&nf.cluster, "cluster", 0, fmt.Sprintf("cluster id, 0 to %d (default: network.cluster-id of the preset, file or $RLND_NETWORK_CLUSTER_ID; The Waku Network's is 1)", autoshard.MaxCluster))
	f.IntVar(&nf.numShards, "num-shards", 0, fmt.Sprintf("shards in the cluster, for autosharding, 1 to %d (default: network.num-shards of the preset, file or $RLND_NETWORK_NUM_SHARDS; The Waku Network has 8)", autoshard.MaxShards))
}

// clientNetwork is the cluster a client command addresses.
type clientNetwork struct {
	cluster   uint16
	numShards int
	// clusterFrom says where cluster came from (config.Origin's words:
	// "default", "preset devnet", "flag --cluster"...).
	clusterFrom string
}

// resolve gives the cluster id and shard count: each of --cluster and
// --num-shards that was given wins; the rest come from the configuration
// layered as rlnd node layers it (the preset, the file, the RLND_*
// environment), which is The Waku Network (cluster 1, 8 shards) when
// nothing says otherwise. Its errors are usage errors.
func (nf networkFlags) resolve(cmd *cobra.Command, env []string) (clientNetwork, error) {
	src := config.Source{Preset: nf.preset, File: nf.file, Env: env}
	if src.Preset == "" {
		src.Preset = lookupEnv(env, config.EnvPreset)
	}
	if src.File == "" {
		src.File = lookupEnv(env, config.EnvConfigFile)
	}
	// A file written for a node may enable a store or lightpush service
	// without a path, which validates only with a data directory.
	if dir, err := config.DefaultDataDir(lookupEnv(env, config.EnvXDGStateHome)); err == nil {
		src.DefaultDataDir = dir
	}
	cfg, origins, err := config.LoadWithOrigins(src)
	if err != nil {
		if errors.Is(err, config.ErrInvalid) {
			return clientNetwork{}, usageError{err}
		}
		return clientNetwork{}, err
	}
	n := clientNetwork{cluster: cfg.Network.ClusterID, numShards: cfg.Network.NumShards,
		clusterFrom: origins.Of("network.cluster-id").String()}
	f := cmd.Flags()
	if f.Changed("cluster") {
		if err := flagRange("cluster", nf.cluster, 0, autoshard.MaxCluster); err != nil {
			return clientNetwork{}, err
		}
		n.cluster, n.clusterFrom = uint16(nf.cluster), "flag --cluster"
	}
	if f.Changed("num-shards") {
		if err := flagRange("num-shards", nf.numShards, 1, autoshard.MaxShards); err != nil {
			return clientNetwork{}, err
		}
		n.numShards = nf.numShards
	}
	return n, nil
}

// presetList is the preset names as a|b.
func presetList() string {
	out := ""
	for i, p := range config.PresetNames() {
		if i > 0 {
			out += "|"
		}
		out += p
	}
	return out
}

// connectClient starts a dial-only host on nw's cluster, its streams of
// the protocols it serves bounded by limits, and connects it to the node
// ai; the caller closes the host. A node on another cluster is told apart:
// the hint says how to give the node's.
func connectClient(ctx context.Context, nw clientNetwork, ai peer.AddrInfo, limits ...p2p.StreamLimits) (*p2p.Host, error) {
	h, err := p2p.NewHost(p2p.HostConfig{ClusterID: nw.cluster, TolerateNoMetadata: true, StreamLimits: limits})
	if err != nil {
		return nil, err
	}
	if _, err := h.Connect(ctx, ai); err != nil {
		_ = h.Close()
		if errors.Is(err, p2p.ErrClusterMismatch) {
			return nil, fmt.Errorf("connect to %s: %w (this client's cluster is %d, from %s): give the node's cluster with --preset, --config or --cluster",
				ai.ID, err, nw.cluster, nw.clusterFrom)
		}
		return nil, fmt.Errorf("connect to %s: %w", ai.ID, err)
	}
	return h, nil
}
