package contracts_test

import (
	"fmt"
	"math/big"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/eth/ethconfig"
	"github.com/ethereum/go-ethereum/node"
	"github.com/ethereum/go-ethereum/params"
)

// osakaRules runs the simulated chain on the dev chain's forks up to Osaka
// only: the forks go-ethereum schedules after it (Amsterdam, Bogota) price
// new storage far higher than the chains in use today.
func osakaRules(_ *node.Config, ec *ethconfig.Config) {
	cfg := *ec.Genesis.Config
	cfg.AmsterdamTime, cfg.BogotaTime = nil, nil
	ec.Genesis.Config = &cfg
}

// TestGas logs the gas of the registry's transactions, with a deposit paid
// in the test token, on go-ethereum's dev chain rules (every fork it
// knows) and on Osaka's:
// registrations (growing the tree), registerBatch, extension, lazy and
// full erasure, a registration that erases an expired membership and
// reuses an index, one that reuses a freed index, and withdraw.
func TestGas(t *testing.T) {
	t.Parallel()
	for _, rules := range []struct {
		name string
		opt  func(*node.Config, *ethconfig.Config)
	}{
		{"dev chain rules", nil},
		{"Osaka rules", osakaRules},
	} {
		t.Run(rules.name, func(t *testing.T) {
			t.Parallel()
			p := wakuParams() // active 180 days, grace 30 days
			p.PricePerMessage, p.Dev = big.NewInt(params.Ether/1000), true
			e := newEnvWith(t, envOptions{params: p, rules: rules.opt})
			id := ids(6, 40)
			var lines []string
			logf := func(format string, args ...any) { lines = append(lines, fmt.Sprintf(format, args...)) }
			gas := func(o outcome) uint64 {
				t.Helper()
				if o.reason != "" {
					t.Fatalf("reverted: %s", o.reason)
				}
				return o.r.GasUsed
			}

			var used []uint64
			for i := range 8 {
				used = append(used, gas(e.register(0, id[i], 100)))
			}
			logf("register, indices 0..7: %v", used)
			g := gas(e.registerBatch(0, id[10:20], 100))
			logf("registerBatch of 10 (indices 8..17): %d, %d per member", g, g/10)

			const day = 24 * 60 * 60
			e.advance(180 * day) // in the grace period
			logf("extendMemberships of one: %d", gas(e.extend(0, id[0])))
			logf("eraseMemberships of one in its grace period (lazy; the holder's first, so it also creates its deposit balance and the freed-index list): %d", gas(e.erase(0, id[1])))
			logf("eraseMemberships(ids, true) of one in its grace period (full): %d", gas(e.eraseFull(0, true, id[2])))
			e.advance(31 * day) // expired
			logf("register erasing an expired membership and taking its index: %d", gas(e.register(1, id[30], 100, id[3])))
			logf("register reusing a freed index: %d", gas(e.register(1, id[31], 100)))
			logf("eraseMemberships of one expired by a non-holder (lazy): %d", gas(e.erase(1, id[4])))
			logf("withdraw: %d", gas(e.withdraw(0, e.tokenAddr)))
			t.Logf("%s, gas:\n\t%s", rules.name, strings.Join(lines, "\n\t"))
		})
	}
}
