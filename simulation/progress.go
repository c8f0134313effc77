package simulation

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// ProgressBar prints a run's progress: simulated time out of the end, the
// percentage, the events processed, the wall time so far and an estimate
// of the wall time left. On a terminal it redraws one line at most every
// TerminalEvery; elsewhere (a log, a pipe) it prints a line at most every
// LogEvery. Its Update is Options.Progress.
type ProgressBar struct {
	mu       sync.Mutex
	w        io.Writer
	terminal bool
	every    time.Duration
	now      func() time.Time

	start, last time.Time
	started     bool
	pending     bool // an update not yet drawn
	onLine      int  // characters of the terminal's current line
	simNow      time.Duration
	simEnd      time.Duration
	events      uint64
}

// Redraw intervals.
const (
	TerminalEvery = 200 * time.Millisecond
	LogEvery      = 10 * time.Second
)

const barWidth = 24

// NewProgressBar prints to w; terminal says whether w is a terminal (a
// line redrawn in place) or not (a line per LogEvery).
func NewProgressBar(w io.Writer, terminal bool) *ProgressBar {
	every := LogEvery
	if terminal {
		every = TerminalEvery
	}
	return &ProgressBar{w: w, terminal: terminal, every: every, now: time.Now}
}

// Update records the run's progress and draws it when the last drawing
// is older than the interval, or when the run reached its end.
func (p *ProgressBar) Update(simNow, simEnd time.Duration, events uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	t := p.now()
	if !p.started {
		p.started, p.start = true, t
	}
	p.simNow, p.simEnd, p.events, p.pending = simNow, simEnd, events, true
	if t.Sub(p.last) >= p.every || (simEnd > 0 && simNow >= simEnd) {
		p.draw(t)
	}
}

// Finish draws what was not drawn yet and ends the terminal's line.
func (p *ProgressBar) Finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pending {
		p.draw(p.now())
	}
	if p.terminal && p.onLine > 0 {
		fmt.Fprintln(p.w)
		p.onLine = 0
	}
}

func (p *ProgressBar) draw(t time.Time) {
	p.last, p.pending = t, false
	text := p.format(t.Sub(p.start))
	if !p.terminal {
		fmt.Fprintln(p.w, text)
		return
	}
	pad := ""
	if n := p.onLine - len(text); n > 0 {
		pad = strings.Repeat(" ", n)
	}
	fmt.Fprintf(p.w, "\r%s%s", text, pad)
	p.onLine = len(text)
}

// format is one progress line.
func (p *ProgressBar) format(elapsed time.Duration) string {
	frac := 0.0
	if p.simEnd > 0 {
		frac = min(1, max(0, float64(p.simNow)/float64(p.simEnd)))
	}
	filled := int(frac * barWidth)
	bar := strings.Repeat("=", filled)
	if filled < barWidth {
		bar += ">" + strings.Repeat(" ", barWidth-filled-1)
	}
	left := "?"
	switch {
	case frac >= 1:
		left = "0s"
	case frac > 0:
		left = "~" + roundDuration(time.Duration(float64(elapsed)*(1-frac)/frac)).String()
	}
	return fmt.Sprintf("[%s] %5.1f%%  sim %v / %v  %s events  wall %v  left %s",
		bar, frac*100, p.simNow.Truncate(time.Second), p.simEnd.Truncate(time.Second),
		countString(p.events), roundDuration(elapsed), left)
}

// roundDuration rounds to a second (to 0.1 s under 10 s).
func roundDuration(d time.Duration) time.Duration {
	if d < 10*time.Second {
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Second)
}

// countString writes a count in thousands (k), millions (M) or billions
// (G) with three figures.
func countString(n uint64) string {
	v := float64(n)
	for _, u := range []struct {
		scale float64
		unit  string
	}{{1e9, "G"}, {1e6, "M"}, {1e3, "k"}} {
		if v >= u.scale {
			x := v / u.scale
			switch {
			case x >= 100:
				return fmt.Sprintf("%.0f%s", x, u.unit)
			case x >= 10:
				return fmt.Sprintf("%.1f%s", x, u.unit)
			}
			return fmt.Sprintf("%.2f%s", x, u.unit)
		}
	}
	return fmt.Sprintf("%d", n)
}
