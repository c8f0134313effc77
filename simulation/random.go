package simulation

import "math/rand/v2"

// Streams of randomness: each concern draws from its own generator, seeded
// from the scenario's seed and the stream, so that adding draws to one
// (more churn, say) does not change the others (the topology, the
// latencies).
const (
	streamTopology uint64 = iota + 1
	streamShards
	streamTraffic
	streamPayload
	streamChurn
	streamAttack
	streamLatency
	streamRegion
	streamRouter
	streamProof
	streamPeerID
)

// mix is splitmix64's finaliser: a bijection of 64 bits that spreads every
// input bit over the output.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// hash3 hashes a seed, a stream and two values into 64 bits.
func hash3(seed, stream, a, b uint64) uint64 {
	return mix(mix(mix(seed^stream*0xd1b54a32d192ed03)^a) ^ b*0x9e3779b97f4a7c15)
}

// unit maps 64 random bits to [0, 1).
func unit(h uint64) float64 { return float64(h>>11) / (1 << 53) }

// newRand returns the generator of a stream.
func newRand(seed, stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(hash3(seed, stream, 1, 0), hash3(seed, stream, 2, 0)))
}
