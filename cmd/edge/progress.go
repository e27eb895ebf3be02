package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// progress is a one-line progress bar with ETA on stderr. It draws only
// when stderr is a terminal and --quiet is off (or EDGE_PROGRESS=1
// forces it, for tests), waits progressDelay before the first draw so
// short steps stay silent, and redraws at most every progressEvery.
type progress struct {
	mu      sync.Mutex
	w       io.Writer
	on      bool
	label   string
	total   float64
	done    float64
	start   time.Time
	last    time.Time
	drawn   bool
	now     func() time.Time
	delay   time.Duration
	every   time.Duration
	message string
	stop    chan struct{}
}

const (
	progressDelay = 700 * time.Millisecond
	progressEvery = 100 * time.Millisecond
	barWidth      = 28
)

// newProgress starts a bar for total units of work (total ≤ 0: unknown,
// the bar shows elapsed time only).
func (e *env) newProgress(label string, total float64) *progress {
	on := (e.tty || os.Getenv("EDGE_PROGRESS") == "1") && !e.quiet
	delay := progressDelay
	if os.Getenv("EDGE_PROGRESS") == "1" {
		delay = 0
	}
	return &progress{w: e.stderr, on: on, label: label, total: total, start: time.Now(), now: time.Now, delay: delay, every: progressEvery}
}

// Set records that done units are complete and redraws if due.
func (p *progress) Set(done float64) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done = done
	p.draw(false)
}

// Add records n more units.
func (p *progress) Add(n float64) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done += n
	p.draw(false)
}

// Status sets a short message shown after the bar.
func (p *progress) Status(msg string) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.message = msg
	p.draw(false)
}

// Tick redraws the bar periodically (elapsed time, ETA) until Done, for
// work that reports progress rarely or never.
func (p *progress) Tick() *progress {
	if p == nil || !p.on {
		return p
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stop != nil {
		return p
	}
	p.stop = make(chan struct{})
	go func(stop chan struct{}) {
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				p.mu.Lock()
				p.draw(false)
				p.mu.Unlock()
			}
		}
	}(p.stop)
	return p
}

// Done erases the bar.
func (p *progress) Done() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stop != nil {
		close(p.stop)
		p.stop = nil
	}
	if p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
		p.drawn = false
	}
	p.on = false
}

func (p *progress) draw(force bool) {
	if !p.on {
		return
	}
	now := p.now()
	el := now.Sub(p.start)
	if !force && (el < p.delay || now.Sub(p.last) < p.every) {
		return
	}
	p.last = now
	p.drawn = true
	fmt.Fprint(p.w, "\r\033[K"+p.line(el))
}

// line renders the bar for elapsed time el.
func (p *progress) line(el time.Duration) string {
	var b strings.Builder
	b.WriteString(p.label)
	if p.total > 0 {
		f := min(max(p.done/p.total, 0), 1)
		n := int(f * barWidth)
		fmt.Fprintf(&b, " [%s%s] %3.0f%%", strings.Repeat("=", n), strings.Repeat(" ", barWidth-n), 100*f)
		eta := "--:--"
		if f > 0 {
			eta = clock(time.Duration(float64(el) * (1 - f) / f))
		}
		fmt.Fprintf(&b, " %s elapsed, ETA %s", clock(el), eta)
	} else {
		fmt.Fprintf(&b, " %s elapsed", clock(el))
	}
	if p.message != "" {
		b.WriteString("  " + p.message)
	}
	return b.String()
}

// clock formats d as m:ss (or h:mm:ss).
func clock(d time.Duration) string {
	s := int(d.Round(time.Second) / time.Second)
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}
