package dnsdisc

import (
	"testing"

	"go.uber.org/goleak"
)

// No test leaves a goroutine behind: a Feed's Close waits for its
// goroutine and for the DNS query it cut; the test servers stop in the
// tests' cleanups.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
