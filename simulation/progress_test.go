package simulation

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// fakeClock is a wall clock the test moves.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }
func newBar(terminal bool) (*ProgressBar, *bytes.Buffer, *fakeClock) {
	var b bytes.Buffer
	c := &fakeClock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	p := NewProgressBar(&b, terminal)
	p.now = c.now
	return p, &b, c
}

func TestProgressLine(t *testing.T) {
	t.Parallel()
	p, b, c := newBar(false)
	p.Update(0, 10*time.Minute, 0)
	c.advance(3 * time.Second)
	p.Update(5*time.Minute, 10*time.Minute, 1_234_567) // within LogEvery of the first line: not drawn
	c.advance(LogEvery)
	p.Update(6*time.Minute, 10*time.Minute, 2_500_000)
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	want := []string{
		"[>                       ]   0.0%  sim 0s / 10m0s  0 events  wall 0s  left ?",
		"[==============>         ]  60.0%  sim 6m0s / 10m0s  2.50M events  wall 13s  left ~8.7s",
	}
	if len(lines) != len(want) {
		t.Fatalf("lines %q, want %q", lines, want)
	}
	for i := range want {
		if lines[i] != want[i] {
			t.Errorf("line %d\n%q, want\n%q", i, lines[i], want[i])
		}
	}
	// Finish draws the last update when it was not drawn, and only then.
	c.advance(time.Second)
	p.Update(7*time.Minute, 10*time.Minute, 3_000_000)
	p.Finish()
	if !strings.HasSuffix(b.String(), "sim 7m0s / 10m0s  3.00M events  wall 14s  left ~6s\n") {
		t.Errorf("after Finish: %q", b.String())
	}
	n := b.Len()
	p.Finish()
	if b.Len() != n {
		t.Error("a second Finish printed again")
	}
}

func TestProgressTerminal(t *testing.T) {
	t.Parallel()
	p, b, c := newBar(true)
	p.Update(time.Second, 100*time.Second, 123_456_789)
	c.advance(TerminalEvery / 2)
	p.Update(2*time.Second, 100*time.Second, 123_456_790) // throttled
	if strings.Count(b.String(), "\r") != 1 {
		t.Fatalf("throttle: %q", b.String())
	}
	c.advance(2 * time.Minute)
	p.Update(100*time.Second, 100*time.Second, 5) // the end: drawn at once
	p.Finish()
	out := b.String()
	if strings.Count(out, "\r") != 2 || !strings.HasSuffix(out, "\n") || strings.Count(out, "\n") != 1 {
		t.Fatalf("terminal output %q: want two redraws of one line, then a newline", out)
	}
	first, last, _ := strings.Cut(strings.TrimPrefix(out, "\r"), "\r")
	if !strings.Contains(first, "123M events") || !strings.Contains(first, "  1.0%") {
		t.Errorf("first drawing %q", first)
	}
	if !strings.HasPrefix(last, "[========================] 100.0%  sim 1m40s / 1m40s  5 events  wall 2m0s  left 0s") {
		t.Errorf("last drawing %q", last)
	}
	// A shorter line is padded over the longer one before it.
	p2, b2, c2 := newBar(true)
	p2.Update(time.Second, time.Hour, 999_999_999)
	c2.advance(time.Second)
	p2.Update(2*time.Second, time.Hour, 1)
	parts := strings.Split(b2.String(), "\r")
	if len(parts) != 3 || len(parts[2]) != len(parts[1]) {
		t.Errorf("redraw not padded to the previous length: %q", b2.String())
	}
}

func TestCountString(t *testing.T) {
	t.Parallel()
	for n, want := range map[uint64]string{
		0: "0", 999: "999", 1000: "1.00k", 12_345: "12.3k", 123_456: "123k",
		1_234_567: "1.23M", 98_765_432_100: "98.8G",
	} {
		if got := countString(n); got != want {
			t.Errorf("countString(%d) = %q, want %q", n, got, want)
		}
	}
}
