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
// With -json the timeline is JSON lines (one decision each).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/campaignconnector/campaignconnector/simulate"
	"github.com/campaignconnector/campaignconnector/store"
)

func main() {
	setup := flag.String("setup", "", "campaign definitions and start (JSON)")
	events := flag.String("events", "", "event log (JSON lines)")
	asJSON := flag.Bool("json", false, "print the timeline as JSON lines")
	until := flag.String("until", "", "run the clock on to this time (RFC 3339) after the last line, which it does not cut short; default: 30 days after the last line")
	flag.Parse()
	if err := run(os.Stdout, *setup, *events, *until, *asJSON); err != nil {
		fmt.Fprintln(os.Stderr, "simulate:", strings.TrimPrefix(err.Error(), "simulate: ")) // once, though the package's errors say it too
		os.Exit(1)
	}
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
	setup, err := simulate.ReadSetup(sf)
	if err != nil {
		var le *simulate.LineError
		if errors.As(err, &le) {
			return inFile(setupPath, err)
		}
		return &fileError{setupPath, err}
	}
	ef, err := os.Open(eventsPath)
	if err != nil {
		return err
	}
	defer ef.Close()
	log, err := simulate.ReadLog(ef)
	if err != nil {
		return inFile(eventsPath, err)
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
		if asJSON {
			if werr := sim.WriteJSON(w); werr != nil {
				return werr
			}
		} else {
			if werr := sim.WriteTimeline(w); werr != nil {
				return werr
			}
			if n := len(sim.Sent()); n == 1 {
				fmt.Fprintln(w, "1 delivery sent")
			} else {
				fmt.Fprintf(w, "%d deliveries sent\n", n)
			}
			// The clock stopped where -until (or its default) put it
			// unless a line's error stopped the replay, or -until lies
			// before the time the log left the clock at.
			atUntil := err == nil && (until.IsZero() || sim.Now().Equal(until))
			if werr := stillWaiting(w, sim, atUntil); werr != nil {
				return werr
			}
		}
	}
	for _, r := range rejected {
		fmt.Fprintln(os.Stderr, "rejected:", inFile(eventsPath, r))
	}
	return inFile(eventsPath, err)
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

// inFile names the line (and column, when known) of file path an error is
// about as file:line or file:line:column, the forms editors jump to; other
// errors are returned as they are.
func inFile(path string, err error) error {
	var le *simulate.LineError
	if err == nil || !errors.As(err, &le) {
		return err
	}
	if le.Column > 0 {
		return fmt.Errorf("%s:%d:%d: %w", path, le.Line, le.Column, le.Err)
	}
	return fmt.Errorf("%s:%d: %w", path, le.Line, le.Err)
}

// stillWaiting says how many deliveries the replay left waiting, and when
// its clock stopped: a follow-up due after the end (a delay longer than
// the 30 days the clock runs on past the last line, by default) is not
// sent, and the count of those sent alone would read as if it never were.
// atUntil says the clock stopped where -until (or its default) put it,
// which the line then names as the reason.
func stillWaiting(w io.Writer, sim *simulate.Simulator, atUntil bool) error {
	n, err := sim.Engine.PendingCount(context.Background())
	if err != nil || n == 0 {
		return err
	}
	what := fmt.Sprintf("%d deliveries", n)
	if n == 1 {
		what = "1 delivery"
	}
	why := ""
	if atUntil {
		why = " (-until; by default 30 days after the last line)"
	}
	_, err = fmt.Fprintf(w, "%s still waiting when the replay stopped at %s%s\n",
		what, sim.Now().UTC().Format(time.RFC3339), why)
	return err
}
