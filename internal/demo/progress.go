package demo

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progress reports how far a load has come: a redrawn bar on a terminal,
// and plain lines elsewhere (a pipe, a log file, CI), where a bar's
// carriage returns and escapes would be noise.
type progress interface {
	Add(n int)
	Finish()
}

// newProgress reports on w (nil: nowhere) a load of total items (what),
// total < 0 when it is not known ahead.
func newProgress(w io.Writer, total int, what string) progress {
	switch {
	case w == nil:
		return noProgress{}
	case isTerminal(w):
		return barProgress{progressbar.NewOptions(total, progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription(what), progressbar.OptionShowCount(), progressbar.OptionShowIts(),
			progressbar.OptionSetItsString(what), progressbar.OptionThrottle(200*time.Millisecond),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }))}
	}
	return &lineProgress{w: w, total: total, what: what, start: time.Now(), last: time.Now(), every: 5 * time.Second}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

type noProgress struct{}

func (noProgress) Add(int) {}
func (noProgress) Finish() {}

type barProgress struct{ bar *progressbar.ProgressBar }

func (b barProgress) Add(n int) { b.bar.Add(n) }
func (b barProgress) Finish()   { b.bar.Finish() }

// lineProgress writes a line at every tenth of a known total, or every few
// seconds when the total is not known, and one at the end:
//
//	residents: 40% (8,000 of 20,000), 1.2 s
type lineProgress struct {
	w           io.Writer
	total, done int
	what        string
	tenth       int // tenths of the total reported
	start, last time.Time
	every       time.Duration
	finished    bool
}

func (p *lineProgress) Add(n int) {
	p.done += n
	if p.total > 0 {
		if t := p.done * 10 / p.total; t > p.tenth && p.done < p.total {
			p.tenth = t
			p.line()
		}
		return
	}
	if time.Since(p.last) >= p.every {
		p.line()
	}
}

func (p *lineProgress) Finish() {
	if !p.finished {
		p.finished = true
		p.line()
	}
}

func (p *lineProgress) line() {
	p.last = time.Now()
	took := time.Since(p.start).Round(100 * time.Millisecond)
	if p.total > 0 {
		fmt.Fprintf(p.w, "%s: %d%% (%s of %s), %s\n", p.what, p.done*100/p.total, thousands(p.done), thousands(p.total), took)
		return
	}
	fmt.Fprintf(p.w, "%s: %s, %s\n", p.what, thousands(p.done), took)
}

// thousands writes n with commas: 20,000.
func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
