// Command simulate replays an event log against campaign definitions on a
// simulated clock (a dry run) and prints the timeline of the engine's
// decisions and deliveries.
//
//	go run ./examples/simulate -setup examples/simulate/testdata/resend.setup.json \
//	    -events examples/simulate/testdata/resend.events.jsonl
//
// The setup file holds the start time, the campaigns and what is published
// at the start; the event log holds one event per line (JSON, with its
// time) or an operation ({"op":"publish","campaign":"resend","time":…}).
// The command reads a setup file of at most 16 MiB and log lines of at
// most 1 MiB each, and refuses a larger one, naming the file (and the
// line) and the limit: -setup /dev/zero, or a log that is not one, does
// not read until memory runs out.
// With -json the timeline is JSON lines (one decision each), and its last
// line the summary the text report ends with (on one line):
//
//	{"summary": {"sent": 2, "waiting": 1, "waiting_past_clock_end": 0,
//	             "waiting_control_group": 0,
//	             "stopped_at": "2026-02-06T12:00:00Z", "stopped_by": "until"}}
//
// waiting counts the deliveries still due when the clock stopped (0 when
// none), waiting_past_clock_end those of them due after the end of the
// simulated clock (in 2262), which no -until reaches,
// waiting_control_group those of them in a campaign's control group
// (held out at their due time: nothing is sent), and stopped_by says
// why the clock stopped at stopped_at: "until" (-until, or by default 30
// days after the last line), "clock_end" (the default lies past the end
// of the simulated clock), "last_line" (an -until before the time the log
// left the clock at) or "error" (a line's error stopped the replay). Every
// field is always there; a decision's line has a "kind", the summary's
// has not.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/campaignconnector/campaignconnector/simulate"
	"github.com/campaignconnector/campaignconnector/store"
)

func main() {
	if err := cli(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "simulate:", strings.TrimPrefix(err.Error(), "simulate: ")) // once, though the package's errors say it too
		os.Exit(1)
	}
}

// cli parses the command's arguments and runs it, writing to w.
func cli(args []string, w io.Writer) error {
	fs := flag.NewFlagSet("simulate", flag.ExitOnError)
	setup := fs.String("setup", "", "campaign definitions and start (JSON, at most "+sizeWords(maxSetupBytes)+")")
	events := fs.String("events", "", "event log (JSON lines, each at most "+sizeWords(maxLineBytes)+")")
	asJSON := fs.Bool("json", false, "print the timeline as JSON lines, then a summary line")
	until := fs.String("until", "", "run the clock on to this time (RFC 3339) after the last line, which it does not cut short; default: 30 days after the last line")
	_ = fs.Parse(args) // ExitOnError: it exits on an error
	// The flags end at the first argument that is not one: what follows
	// (a time given without -until, a flag after a file name) would be
	// dropped without a word.
	if rest := fs.Args(); len(rest) > 0 {
		what := "argument"
		if len(rest) > 1 {
			what += "s"
		}
		quoted := make([]string, len(rest))
		for i, a := range rest {
			quoted[i] = strconv.Quote(a)
		}
		return fmt.Errorf("unexpected %s %s after the flags (see -h)", what, strings.Join(quoted, " "))
	}
	return run(w, *setup, *events, *until, *asJSON)
}

func run(w io.Writer, setupPath, eventsPath, untilText string, asJSON bool) error {
	if setupPath == "" || eventsPath == "" {
		return fmt.Errorf("give -setup and -events (see -h)")
	}
	sf, err := os.Open(setupPath)
	if err != nil {
		return err
	}
	defer sf.Close()
	setup, err := simulate.ReadSetup(&boundedReader{r: sf, limit: maxSetupBytes, what: "a setup file"})
	if err != nil {
		var (
			le *simulate.LineError
			tl *tooLargeError
		)
		switch {
		case errors.As(err, &tl):
			// "path: larger than …", without ReadSetup's "setup: reading: ",
			// its error (simulate.ErrScript) still in the chain.
			return &fileError{setupPath, &saidAs{tl, err}}
		case errors.As(err, &le):
			return inFile(setupPath, err)
		}
		return &fileError{setupPath, err}
	}
	ef, err := os.Open(eventsPath)
	if err != nil {
		return err
	}
	defer ef.Close()
	log, err := simulate.ReadLog(&boundedReader{r: ef, limit: maxLineBytes, lines: true, what: "a line of the event log"})
	if err != nil {
		var (
			le *simulate.LineError
			tl *tooLargeError
		)
		if errors.As(err, &tl) && errors.As(err, &le) {
			// "file:line: larger than …", without ReadLog's "reading: ".
			return &lineFileError{path: eventsPath, line: &simulate.LineError{Line: le.Line, Err: tl}, err: err}
		}
		return inFile(eventsPath, err)
	}
	if len(log) == 0 {
		// Follow-ups trigger on events: the replay would decide nothing,
		// and "0 deliveries sent" would read as the campaigns' doing.
		return fmt.Errorf("%s: no event or operation (the file is empty, or holds blank and comment lines only): the replay would decide nothing", eventsPath)
	}
	var until time.Time
	if untilText != "" {
		if until, err = time.Parse(time.RFC3339, untilText); err != nil {
			return fmt.Errorf("-until: %q is not in RFC 3339 form, such as \"2026-02-01T00:00:00Z\": %w", untilText, err)
		}
	}
	sim, rejected, err := simulate.Replay(setup, log, until)
	if err != nil && sim == nil {
		return refused(setupPath, eventsPath, err)
	}
	if sim != nil {
		sum, serr := summarize(sim, setup, until, err != nil)
		if serr != nil {
			return serr
		}
		if werr := report(w, sim, sum, asJSON); werr != nil {
			return werr
		}
	}
	for _, r := range rejected {
		fmt.Fprintln(os.Stderr, "rejected:", inFile(eventsPath, r))
	}
	return inFile(eventsPath, err)
}

// The most the command reads of a setup file, and of a line of the event
// log: generous for real use, where the samples' setups are under 400
// bytes and their log lines under 1 KiB (an event within the engine's
// default limits, 16 KiB of properties and 256-byte IDs, takes some
// 100 KiB with every byte of it escaped as \u00XX), while a file that
// is not one (-setup /dev/zero, a binary file) is refused before it
// fills memory.
const (
	maxSetupBytes = 16 << 20
	maxLineBytes  = 1 << 20
)

// sizeWords says n bytes in MiB or KiB when it is a whole number of them.
func sizeWords(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// tooLargeError says that a file, or a line of one, is larger than the
// command reads.
type tooLargeError struct {
	what  string // "a setup file", "a line of the event log"
	limit int64
}

func (e *tooLargeError) Error() string {
	return fmt.Sprintf("larger than %s (%d bytes), the most %s may hold", sizeWords(e.limit), e.limit, e.what)
}

// boundedReader reads r, and fails with a *tooLargeError once more than
// limit bytes come: of the whole input, or with lines, of one line (ended
// by LF or CR, as simulate.ReadLog ends lines). It returns the bytes
// before the one past the limit, then the error: ReadLog, which reads a
// line whole however long it is, then names the line the error is in.
type boundedReader struct {
	r     io.Reader
	limit int64
	lines bool
	what  string
	n     int64 // bytes read, of the input or of the line
	err   error
}

func (b *boundedReader) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	n, err := b.r.Read(p)
	for i, c := range p[:n] {
		if b.lines && (c == '\n' || c == '\r') {
			b.n = 0
			continue
		}
		if b.n++; b.n > b.limit {
			b.err = &tooLargeError{what: b.what, limit: b.limit}
			return i, b.err
		}
	}
	return n, err
}

// refused names the file whose content made Replay refuse to run: the
// log's line (file:line) for an error of a line, the setup otherwise
// (a definition the engine refuses, a campaign defined twice, a zone it
// does not know, no follow-up published), except for -until out of the
// simulated clock's range, the one error about neither file, which
// names -until already.
func refused(setupPath, eventsPath string, err error) error {
	var le *simulate.LineError
	switch {
	case errors.As(err, &le):
		return inFile(eventsPath, err)
	case errors.Is(err, store.ErrTimeRange) && !errors.Is(err, simulate.ErrScript):
		return err
	}
	return &fileError{setupPath, err}
}

// fileError is an error about file path as a whole, said as "path: " and
// what is wrong, without the package's "simulate: " (main says it once).
type fileError struct {
	path string
	err  error
}

func (e *fileError) Error() string {
	return e.path + ": " + strings.TrimPrefix(e.err.Error(), "simulate: ")
}

func (e *fileError) Unwrap() error { return e.err }

// saidAs is err said as the text of words, an error in err's chain that
// says it better; it unwraps to err.
type saidAs struct{ words, err error }

func (e *saidAs) Error() string { return e.words.Error() }

func (e *saidAs) Unwrap() error { return e.err }

// inFile names the line (and column, when known) of file path an error is
// about as file:line or file:line:column, the forms editors jump to; other
// errors are returned as they are.
func inFile(path string, err error) error {
	var le *simulate.LineError
	if err == nil || !errors.As(err, &le) {
		return err
	}
	return &lineFileError{path: path, line: le, err: err}
}

// lineFileError is err, about line's place in file path, said as that
// place and line's own error; it unwraps to err, so that the library's
// errors (simulate.ErrScript, the *simulate.LineError) stay in its chain.
type lineFileError struct {
	path string
	line *simulate.LineError
	err  error
}

func (e *lineFileError) Error() string {
	if e.line.Column > 0 {
		return fmt.Sprintf("%s:%d:%d: %v", e.path, e.line.Line, e.line.Column, e.line.Err)
	}
	return fmt.Sprintf("%s:%d: %v", e.path, e.line.Line, e.line.Err)
}

func (e *lineFileError) Unwrap() error { return e.err }

// summary is what the report says after the timeline, and -json writes
// as its last line, {"summary": {…}}: how many deliveries were sent, how
// many the replay left waiting (a follow-up due after the clock stopped,
// such as a delay longer than the 30 days the clock runs on past the last
// line by default, is not sent, and the count of those sent alone would
// read as if it never were), and where and why the clock stopped.
type summary struct {
	Sent    int   `json:"sent"`
	Waiting int64 `json:"waiting"`
	// WaitingPastClockEnd counts those of Waiting due after the end of the
	// simulated clock (simulate.ClockEnd, in 2262), which no -until
	// reaches.
	WaitingPastClockEnd int64 `json:"waiting_past_clock_end"`
	// WaitingControlGroup counts those of Waiting in a campaign's control
	// group: held out at their due time, they send nothing. A delivery
	// may count in it and in WaitingPastClockEnd.
	WaitingControlGroup int64     `json:"waiting_control_group"`
	StoppedAt           time.Time `json:"stopped_at"`
	// StoppedBy says why the clock stopped at StoppedAt: "until" (-until,
	// or by default 30 days after the last line), "clock_end" (the end of
	// the simulated clock, where the default lies after it), "last_line"
	// (an -until before the time the log left the clock at, which moves
	// it no further) or "error" (a line's error stopped the replay).
	StoppedBy string `json:"stopped_by"`
}

// summarize returns sim's summary, after a replay of setup to until
// (zero for the default) that a line's error stopped when failed.
func summarize(sim *simulate.Simulator, setup simulate.Setup, until time.Time, failed bool) (summary, error) {
	s := summary{Sent: len(sim.Sent()), StoppedAt: sim.Now()}
	switch {
	case failed:
		s.StoppedBy = "error"
	case until.IsZero() && s.StoppedAt.Equal(simulate.ClockEnd()):
		s.StoppedBy = "clock_end"
	case until.IsZero() || s.StoppedAt.Equal(until):
		s.StoppedBy = "until"
	default:
		s.StoppedBy = "last_line"
	}
	var err error
	if s.Waiting, err = sim.Engine.PendingCount(context.Background()); err != nil || s.Waiting == 0 {
		return s, err
	}
	// Pending deliveries are listed in (due time, ID) order: those due
	// after the end from a cursor at the end, whatever its ID (every
	// delivery due after the end comes after it), skipping those due at
	// the end itself.
	end := simulate.ClockEnd()
	q := store.PendingQuery{AfterDue: end, AfterID: "-"}
	if s.WaitingPastClockEnd, err = countPending(sim, q, func(p store.Pending) bool { return p.DueAt.After(end) }); err != nil {
		return s, err
	}
	// The control group's, of the campaigns that have one (a replay does
	// not change definitions).
	for _, c := range setup.Campaigns {
		if c.ControlPercent == 0 {
			continue
		}
		n, err := countPending(sim, store.PendingQuery{CampaignID: c.ID}, func(p store.Pending) bool { return p.Control })
		if err != nil {
			return s, err
		}
		s.WaitingControlGroup += n
	}
	return s, nil
}

// countPending counts sim's pending deliveries from q's cursor on (of
// q's campaign when it names one) for which keep is true.
func countPending(sim *simulate.Simulator, q store.PendingQuery, keep func(store.Pending) bool) (int64, error) {
	q.Limit = store.MaxPendingPage
	var n int64
	for {
		page, err := sim.Engine.PendingDeliveries(context.Background(), q)
		if err != nil {
			return n, err
		}
		for _, c := range page {
			if keep(c.Pending) {
				n++
			}
		}
		if len(page) < q.Limit {
			return n, nil
		}
		last := page[len(page)-1].Pending
		q.AfterDue, q.AfterID = last.DueAt, last.ID
	}
}

// report writes the timeline and the summary: as JSON lines, or as text
// that says how many deliveries were sent and, when some still wait,
// how many, when the clock stopped, and why when it stopped where -until
// (or its default) or the clock's end put it.
func report(w io.Writer, sim *simulate.Simulator, s summary, asJSON bool) error {
	if asJSON {
		if err := sim.WriteJSON(w); err != nil {
			return err
		}
		return json.NewEncoder(w).Encode(struct {
			Summary summary `json:"summary"`
		}{s})
	}
	if err := sim.WriteTimeline(w); err != nil {
		return err
	}
	var b strings.Builder
	if s.Sent == 1 {
		b.WriteString("1 delivery sent\n")
	} else {
		fmt.Fprintf(&b, "%d deliveries sent\n", s.Sent)
	}
	if s.Waiting > 0 {
		if s.Waiting == 1 {
			b.WriteString("1 delivery")
		} else {
			fmt.Fprintf(&b, "%d deliveries", s.Waiting)
		}
		fmt.Fprintf(&b, " still waiting when the replay stopped at %s", s.StoppedAt.UTC().Format(time.RFC3339))
		switch s.StoppedBy {
		case "until":
			b.WriteString(" (-until; by default 30 days after the last line)")
		case "clock_end":
			b.WriteString(" (the end of the simulated clock)")
		}
		if s.WaitingPastClockEnd > 0 {
			end := "it"
			if s.StoppedBy != "clock_end" {
				end = "the end of the simulated clock (" + simulate.ClockEnd().Format(time.RFC3339) + ")"
			}
			b.WriteString(",")
			if s.Waiting > 1 {
				fmt.Fprintf(&b, " %d of them", s.WaitingPastClockEnd)
			}
			fmt.Fprintf(&b, " due after %s, which no -until reaches", end)
		}
		if s.WaitingControlGroup > 0 {
			b.WriteString(",")
			if s.Waiting > 1 {
				fmt.Fprintf(&b, " %d of them", s.WaitingControlGroup)
			}
			b.WriteString(" in the control group (held out when due: nothing is sent)")
		}
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}
