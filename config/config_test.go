package config

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestPresetValues(t *testing.T) {
	t.Parallel()
	twn := Config{
		Log:     LogConfig{Level: "info", Format: "text"},
		Network: NetworkConfig{ClusterID: 1, NumShards: 8},
		P2P: P2PConfig{Listen: []string{"/ip4/0.0.0.0/tcp/60000", "/ip4/0.0.0.0/tcp/8000/ws"}, NAT: "none", MaxConnections: 150,
			RequestFirstByteTimeout: 5 * time.Minute, RequestTimeout: 30 * time.Second,
			RequestsPerPeer: 8, RequestsPerPrefix: 32, RequestsTotal: 128,
			IdleStreamsPerPeer: 4, IdleStreamsPerPrefix: 64, IdleStreamsTotal: 512,
		},
		Discovery: DiscoveryConfig{Discv5: true, Discv5UDPPort: 9000, DNS: true,
			// nwaku's twn preset (networks_config.nim, TheWakuNetworkConf's entryNodes).
			DNSURLs: []string{"enrtree://AOGYWMBYOUIMOENHXCHILPKY3ZRFEULMFI4DOM442QSZ73TT2A7VI@test.waku.nodes.status.im"},
			EntryNodes: []string{
				"/dns4/node-01.ac-cn-hongkong-c.waku.test.status.im/tcp/30303/p2p/16Uiu2HAkzHaTP5JsUwfR9NR8Rj9HC24puS6ocaU8wze4QrXr9iXp",
				"/dns4/node-01.do-ams3.waku.test.status.im/tcp/30303/p2p/16Uiu2HAkykgaECHswi3YKJ5dMLbq2kPVCo89fcyTd38UcQD6ej5W",
				"/dns4/node-01.gc-us-central1-a.waku.test.status.im/tcp/30303/p2p/16Uiu2HAmDCp8XJ9z1ev18zuv8NHekAsjNyezAvmMfFEJkiharitG",
			},
			PeerExchange: true},
		RLN: RLNConfig{
			Enabled:          true,
			EpochPeriod:      600 * time.Second,
			UserMessageLimit: 100,
			MaxEpochGap:      20 * time.Second,
			RootWindow:       50,
			Signal:           "timestamped",
		},
		Chain:     ChainConfig{ChainID: 59141, Contract: "0xB9cd878C90E49F797B4431fBF4fb333108CB90e6", StartTimeout: time.Minute},
		REST:      RESTConfig{Enabled: false, Address: "127.0.0.1:8645", RelayCacheCapacity: 50},
		Metrics:   MetricsConfig{Enabled: false, Address: "127.0.0.1:8008"},
		Lightpush: LightpushConfig{PerPeerQuota: 10, PerIPQuota: 20, PerPrefixQuota: 40, ReservedPercent: 25, Workers: 2},
		Store:     StoreConfig{RetentionTime: 48 * time.Hour, MaxFullPages: 8},
		Filter: FilterConfig{MaxPeers: 1000, MaxPeersPerPrefix: 100, MaxCriteriaPerPeer: 1000, MaxContentTopicLength: 256,
			PushQueue: 64, PushQueueBytes: 1 << 20},
	}
	devnet := Config{
		Log:     LogConfig{Level: "info", Format: "text"},
		Network: NetworkConfig{ClusterID: 66, NumShards: 8},
		P2P: P2PConfig{Listen: []string{"/ip4/127.0.0.1/tcp/60000", "/ip4/127.0.0.1/tcp/8000/ws"}, NAT: "none", MaxConnections: 150,
			RequestFirstByteTimeout: 5 * time.Minute, RequestTimeout: 30 * time.Second,
			RequestsPerPeer: 8, RequestsPerPrefix: 32, RequestsTotal: 128,
			IdleStreamsPerPeer: 4, IdleStreamsPerPrefix: 64, IdleStreamsTotal: 512,
		},
		Discovery: DiscoveryConfig{Discv5: true, PeerExchange: true},
		RLN: RLNConfig{
			Enabled:          true,
			EpochPeriod:      10 * time.Second,
			UserMessageLimit: 10,
			MaxEpochGap:      20 * time.Second,
			RootWindow:       50,
			Signal:           "timestamped",
		},
		Chain:     ChainConfig{RPCURL: "http://127.0.0.1:8545", ChainID: 1337, Contract: "0xa1C51e71CFb1dBB016dF743FD5dc48D62Ebb917B", StartTimeout: time.Minute},
		REST:      RESTConfig{Enabled: true, Address: "127.0.0.1:8645", Admin: true, RelayCacheCapacity: 50},
		Metrics:   MetricsConfig{Enabled: true, Address: "127.0.0.1:8008"},
		Lightpush: LightpushConfig{PerPeerQuota: 10, PerIPQuota: 20, PerPrefixQuota: 40, ReservedPercent: 25, Workers: 2},
		Store:     StoreConfig{RetentionTime: 48 * time.Hour, MaxFullPages: 8},
		Filter: FilterConfig{MaxPeers: 1000, MaxPeersPerPrefix: 100, MaxCriteriaPerPeer: 1000, MaxContentTopicLength: 256,
			PushQueue: 64, PushQueueBytes: 1 << 20},
	}

	tests := []struct {
		name   string
		preset string
		want   Config
	}{
		{name: "empty name is the default preset", preset: "", want: twn},
		{name: "DefaultPreset", preset: DefaultPreset, want: twn},
		{name: "twn", preset: "twn", want: twn},
		{name: "devnet", preset: "devnet", want: devnet},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Preset(tt.preset)
			if err != nil {
				t.Fatalf("Preset(%q): %v", tt.preset, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Preset(%q) =\n%+v\nwant\n%+v", tt.preset, got, tt.want)
			}
			if err := got.Validate(); err != nil {
				t.Errorf("Preset(%q) does not validate: %v", tt.preset, err)
			}
			loaded, err := Load(Source{Preset: tt.preset})
			if err != nil {
				t.Fatalf("Load(preset %q): %v", tt.preset, err)
			}
			if !reflect.DeepEqual(*loaded, tt.want) {
				t.Errorf("Load(preset %q) =\n%+v\nwant\n%+v", tt.preset, *loaded, tt.want)
			}
		})
	}
}

func TestPresetIsACopy(t *testing.T) {
	t.Parallel()
	first, err := Preset("twn")
	if err != nil {
		t.Fatal(err)
	}
	first.P2P.Listen[0] = "changed"
	first.Network.ClusterID = 99
	second, err := Preset("twn")
	if err != nil {
		t.Fatal(err)
	}
	if second.P2P.Listen[0] != "/ip4/0.0.0.0/tcp/60000" || second.Network.ClusterID != 1 {
		t.Errorf("changing one Preset result changed the next: %+v", second)
	}
}

func TestPresetNames(t *testing.T) {
	t.Parallel()
	if got, want := PresetNames(), []string{"devnet", "twn"}; !slices.Equal(got, want) {
		t.Errorf("PresetNames() = %v, want %v", got, want)
	}
}

func TestUnknownPreset(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		call func() error
	}{
		{name: "Preset", call: func() error { _, err := Preset("mainnet"); return err }},
		{name: "Load", call: func() error { _, err := Load(Source{Preset: "mainnet"}); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.call()
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			for _, want := range []string{`"mainnet"`, "devnet, twn"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
}

func TestShardList(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		numShards int
		shards    []int
		want      []int
	}{
		{name: "empty means all", numShards: 8, want: []int{0, 1, 2, 3, 4, 5, 6, 7}},
		{name: "one shard", numShards: 1, want: []int{0}},
		{name: "explicit list", numShards: 8, shards: []int{5, 2}, want: []int{5, 2}},
		{name: "invalid num-shards gives none", numShards: 0, want: []int{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := Config{Network: NetworkConfig{NumShards: tt.numShards, Shards: tt.shards}}
			got := c.ShardList()
			if !slices.Equal(got, tt.want) {
				t.Errorf("ShardList() = %v, want %v", got, tt.want)
			}
			if len(got) > 0 && len(tt.shards) > 0 {
				got[0] = -1
				if c.Network.Shards[0] == -1 {
					t.Error("ShardList returned the config's own slice")
				}
			}
		})
	}
}

// TestKeyTableCoversConfig checks that the key table has exactly one key for
// every leaf field of Config, named by the field's tags, and that its field
// accessor points at that field.
func TestKeyTableCoversConfig(t *testing.T) {
	t.Parallel()
	var c Config
	fields := make(map[string]any) // key name -> pointer to the field
	root := reflect.ValueOf(&c).Elem()
	for i := range root.NumField() {
		if !root.Type().Field(i).IsExported() {
			continue // Load's warnings, no key
		}
		groupTag := root.Type().Field(i).Tag
		group := root.Field(i)
		if groupTag.Get("mapstructure") != groupTag.Get("yaml") {
			t.Errorf("group %s: mapstructure and yaml tags differ", root.Type().Field(i).Name)
		}
		for j := range group.NumField() {
			tag := group.Type().Field(j).Tag
			if tag.Get("mapstructure") != tag.Get("yaml") {
				t.Errorf("field %s: mapstructure and yaml tags differ", group.Type().Field(j).Name)
			}
			name := groupTag.Get("yaml") + "." + tag.Get("yaml")
			fields[name] = group.Field(j).Addr().Interface()
		}
	}

	seen := make(map[string]bool)
	for _, k := range keys() {
		if seen[k.name] {
			t.Errorf("key %s is in the table twice", k.name)
		}
		seen[k.name] = true
		want, ok := fields[k.name]
		if !ok {
			t.Errorf("key %s has no field tagged with its name", k.name)
			continue
		}
		if got := k.field(&c); got != want {
			t.Errorf("key %s: accessor points at %T %p, want the tagged field %T %p", k.name, got, got, want, want)
		}
		if k.usage == "" || k.allowed == "" {
			t.Errorf("key %s: usage or allowed text is empty", k.name)
		}
	}
	for name := range fields {
		if !seen[name] {
			t.Errorf("field %s has no key in the table", name)
		}
	}
}
