package wakuenr

import (
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
)

// The Waku Network's discv5 bootstrap records, as nwaku's "twn" preset
// (TheWakuNetworkConf, discv5BootstrapNodes in waku/factory/networks_config.nim)
// lists them: public strings, copied verbatim.
//
//   - current: logos-messaging/logos-messaging-nim (nwaku's repository now),
//     commit 1f9c4cb8cc4cac2347d19bac6eecb169775ca366;
//   - previous: waku-org/nwaku, commit ba8d321980649953d1d0a7b3ddb45dd37964d8a9
//     (same hosts, earlier keys).
//
// The peer ids we expect are not derived here: they are the ones published
// for the same hosts in their /dns4/.../p2p/<id> addresses (js-waku's
// examples and nwaku's entryNodes for the current keys; status-go's
// waku.sandbox fleet and mail server lists for the previous ones).
var twnBootstrap = []struct {
	name, enr, id, ip, host string
}{
	{
		name: "current do-ams3",
		enr:  "enr:-QESuED0qW1BCmF-oH_ARGPr97Nv767bl_43uoy70vrbah3EaCAdK3Q0iRQ6wkSTTpdrg_dU_NC2ydO8leSlRpBX4pxiAYJpZIJ2NIJpcIRA4VDAim11bHRpYWRkcnO4XAArNiZub2RlLTAxLmRvLWFtczMud2FrdS5zYW5kYm94LnN0YXR1cy5pbQZ2XwAtNiZub2RlLTAxLmRvLWFtczMud2FrdS5zYW5kYm94LnN0YXR1cy5pbQYfQN4DgnJzkwABCAAAAAEAAgADAAQABQAGAAeJc2VjcDI1NmsxoQOTd-h5owwj-cx7xrmbvQKU8CV3Fomfdvcv1MBc-67T5oN0Y3CCdl-DdWRwgiMohXdha3UyDw",
		id:   "16Uiu2HAmNaeL4p3WEYzC9mgXBmBWSgWjPHRvatZTXnp8Jgv3iKsb",
		ip:   "64.225.80.192",
		host: "node-01.do-ams3.waku.sandbox.status.im",
	},
	{
		name: "current gc-us-central1-a",
		enr:  "enr:-QEkuED9X80QF_jcN9gA2ZRhhmwVEeJnsg_Hyg7IFCTYnZD0BDI7a8HArE61NhJZFwygpHCWkgwSt2vqiABXkBxzIqZBAYJpZIJ2NIJpcIQiQlleim11bHRpYWRkcnO4bgA0Ni9ub2RlLTAxLmdjLXVzLWNlbnRyYWwxLWEud2FrdS5zYW5kYm94LnN0YXR1cy5pbQZ2XwA2Ni9ub2RlLTAxLmdjLXVzLWNlbnRyYWwxLWEud2FrdS5zYW5kYm94LnN0YXR1cy5pbQYfQN4DgnJzkwABCAAAAAEAAgADAAQABQAGAAeJc2VjcDI1NmsxoQPFAS8zz2cg1QQhxMaK8CzkGQ5wdHvPJcrgLzJGOiHpwYN0Y3CCdl-DdWRwgiMohXdha3UyDw",
		id:   "16Uiu2HAmRv1iQ3NoMMcjbtRmKxPuYBbF9nLYz2SDv9MTN8WhGuUU",
		ip:   "34.66.89.94",
		host: "node-01.gc-us-central1-a.waku.sandbox.status.im",
	},
	{
		name: "current ac-cn-hongkong-c",
		enr:  "enr:-QEkuEBfEzJm_kigJ2HoSS_RBFJYhKHocGdkhhBr6jSUAWjLdFPp6Pj1l4yiTQp7TGHyu1kC6FyaU573VN8klLsEm-XuAYJpZIJ2NIJpcIQI2SVcim11bHRpYWRkcnO4bgA0Ni9ub2RlLTAxLmFjLWNuLWhvbmdrb25nLWMud2FrdS5zYW5kYm94LnN0YXR1cy5pbQZ2XwA2Ni9ub2RlLTAxLmFjLWNuLWhvbmdrb25nLWMud2FrdS5zYW5kYm94LnN0YXR1cy5pbQYfQN4DgnJzkwABCAAAAAEAAgADAAQABQAGAAeJc2VjcDI1NmsxoQOwsS69tgD7u1K50r5-qG5hweuTwa0W26aYPnvivpNlrYN0Y3CCdl-DdWRwgiMohXdha3UyDw",
		id:   "16Uiu2HAmQYiojgZ8APsh9wqbWNyCstVhnp9gbeNrxSEQnLJchC92",
		ip:   "8.217.37.92",
		host: "node-01.ac-cn-hongkong-c.waku.sandbox.status.im",
	},
	{
		name: "previous do-ams3",
		enr:  "enr:-QESuEB4Dchgjn7gfAvwB00CxTA-nGiyk-aALI-H4dYSZD3rUk7bZHmP8d2U6xDiQ2vZffpo45Jp7zKNdnwDUx6g4o6XAYJpZIJ2NIJpcIRA4VDAim11bHRpYWRkcnO4XAArNiZub2RlLTAxLmRvLWFtczMud2FrdS5zYW5kYm94LnN0YXR1cy5pbQZ2XwAtNiZub2RlLTAxLmRvLWFtczMud2FrdS5zYW5kYm94LnN0YXR1cy5pbQYfQN4DgnJzkwABCAAAAAEAAgADAAQABQAGAAeJc2VjcDI1NmsxoQOvD3S3jUNICsrOILlmhENiWAMmMVlAl6-Q8wRB7hidY4N0Y3CCdl-DdWRwgiMohXdha3UyDw",
		id:   "16Uiu2HAmQSMNExfUYUqfuXWkD5DaNZnMYnigRxFKbk3tcEFQeQeE",
		ip:   "64.225.80.192",
		host: "node-01.do-ams3.waku.sandbox.status.im",
	},
	{
		name: "previous gc-us-central1-a",
		enr:  "enr:-QEkuEBIkb8q8_mrorHndoXH9t5N6ZfD-jehQCrYeoJDPHqT0l0wyaONa2-piRQsi3oVKAzDShDVeoQhy0uwN1xbZfPZAYJpZIJ2NIJpcIQiQlleim11bHRpYWRkcnO4bgA0Ni9ub2RlLTAxLmdjLXVzLWNlbnRyYWwxLWEud2FrdS5zYW5kYm94LnN0YXR1cy5pbQZ2XwA2Ni9ub2RlLTAxLmdjLXVzLWNlbnRyYWwxLWEud2FrdS5zYW5kYm94LnN0YXR1cy5pbQYfQN4DgnJzkwABCAAAAAEAAgADAAQABQAGAAeJc2VjcDI1NmsxoQKnGt-GSgqPSf3IAPM7bFgTlpczpMZZLF3geeoNNsxzSoN0Y3CCdl-DdWRwgiMohXdha3UyDw",
		id:   "16Uiu2HAm6fyqE1jB5MonzvoMdU8v76bWV8ZeNpncDamY1MQXfjdB",
		ip:   "34.66.89.94",
		host: "node-01.gc-us-central1-a.waku.sandbox.status.im",
	},
	{
		name: "previous ac-cn-hongkong-c",
		enr:  "enr:-QEkuEB3WHNS-xA3RDpfu9A2Qycr3bN3u7VoArMEiDIFZJ66F1EB3d4wxZN1hcdcOX-RfuXB-MQauhJGQbpz3qUofOtLAYJpZIJ2NIJpcIQI2SVcim11bHRpYWRkcnO4bgA0Ni9ub2RlLTAxLmFjLWNuLWhvbmdrb25nLWMud2FrdS5zYW5kYm94LnN0YXR1cy5pbQZ2XwA2Ni9ub2RlLTAxLmFjLWNuLWhvbmdrb25nLWMud2FrdS5zYW5kYm94LnN0YXR1cy5pbQYfQN4DgnJzkwABCAAAAAEAAgADAAQABQAGAAeJc2VjcDI1NmsxoQPK35Nnz0cWUtSAhBp7zvHEhyU_AqeQUlqzLiLxfP2L4oN0Y3CCdl-DdWRwgiMohXdha3UyDw",
		id:   "16Uiu2HAmSJvSJphxRdbnigUV5bjRRZFBhTtWFTSyiKaQByCjwmpV",
		ip:   "8.217.37.92",
		host: "node-01.ac-cn-hongkong-c.waku.sandbox.status.im",
	},
}

func TestTheWakuNetworkBootstrapRecords(t *testing.T) {
	t.Parallel()
	twnShards := []uint16{0, 1, 2, 3, 4, 5, 6, 7} // cluster 1, 8 auto shards
	for _, tc := range twnBootstrap {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := ParsePeer(tc.enr)
			if err != nil {
				t.Fatal(err)
			}
			if want, err := peer.Decode(tc.id); err != nil || p.ID != want {
				t.Errorf("peer id %s, want %s (%v)", p.ID, tc.id, err)
			}
			wantAddrs := []string{
				"/ip4/" + tc.ip + "/tcp/30303",
				"/dns4/" + tc.host + "/tcp/30303",
				"/dns4/" + tc.host + "/tcp/8000/wss",
			}
			if got := addrStrings(p.Addrs); !equalStrings(got, wantAddrs) {
				t.Errorf("addrs %v, want %v", got, wantAddrs)
			}
			if !p.HasCapabilities || p.Capabilities != Relay|Store|Filter|Lightpush {
				t.Errorf("capabilities %v (present %v), want relay,store,filter,lightpush", p.Capabilities, p.HasCapabilities)
			}
			if !p.HasShards || !p.Shards.Equal(Shards{Cluster: 1, Indices: twnShards}) {
				t.Errorf("shards %v (present %v), want 1/0..7", p.Shards, p.HasShards)
			}
			if got := p.Node.UDP(); got != 9000 {
				t.Errorf("udp %d, want 9000", got)
			}
			if got := Text(p.Node); got != tc.enr {
				t.Errorf("text form changed:\n got %s\nwant %s", got, tc.enr)
			}
		})
	}
}
