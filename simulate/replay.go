package simulate

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
)

// Setup is what a replay starts from: the clock, the default time zone, the
// campaign definitions (saved in order) and the campaigns published at the
// start (in order). Its JSON form:
//
//	{"start": "2026-01-05T09:00:00Z", "location": "Europe/Paris",
//	 "campaigns": [{"id": "newsletter"}, {"id": "resend", "triggers": […], …}],
//	 "publish": ["resend", "newsletter"]}
type Setup struct {
	Start     time.Time       `json:"start"`
	Location  string          `json:"location,omitempty"`
	Campaigns []rule.Campaign `json:"campaigns"`
	Publish   []string        `json:"publish,omitempty"`
}

// Line is one line of an event log: an event, or an operation when Op is
// set ("publish", "stop" or "archive" a Campaign, or "advance" the clock).
// Lines are applied in order; the clock moves forward to each line's Time
// first (an event stamped before the clock is a late event, tracked now).
type Line struct {
	Op       string    `json:"op,omitempty"`
	Campaign string    `json:"campaign,omitempty"`
	Time     time.Time `json:"time,omitzero"`
	Event    event.Event
}

// ErrScript reports a malformed setup or event log, with its line.
var ErrScript = errors.New("simulate: bad script")

// ReadSetup decodes a [Setup].
func ReadSetup(r io.Reader) (Setup, error) {
	var s Setup
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return Setup{}, fmt.Errorf("%w: setup: %w", ErrScript, err)
	}
	if s.Start.IsZero() {
		return Setup{}, fmt.Errorf("%w: setup: start is required", ErrScript)
	}
	return s, nil
}

// ReadLog decodes an event log in JSON lines (blank lines and lines
// starting with # are skipped).
func ReadLog(r io.Reader) ([]Line, error) {
	var out []Line
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 || text[0] == '#' {
			continue
		}
		var op struct {
			Op       string    `json:"op"`
			Campaign string    `json:"campaign"`
			Time     time.Time `json:"time"`
		}
		if err := json.Unmarshal(text, &op); err != nil {
			return nil, fmt.Errorf("%w: line %d: %w", ErrScript, n, err)
		}
		if op.Op != "" {
			switch op.Op {
			case "publish", "stop", "archive", "advance":
			default:
				return nil, fmt.Errorf("%w: line %d: unknown op %q", ErrScript, n, op.Op)
			}
			out = append(out, Line{Op: op.Op, Campaign: op.Campaign, Time: op.Time})
			continue
		}
		var ev event.Event
		if err := json.Unmarshal(text, &ev); err != nil {
			return nil, fmt.Errorf("%w: line %d: %w", ErrScript, n, err)
		}
		out = append(out, Line{Time: ev.Time, Event: ev})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrScript, err)
	}
	return out, nil
}

// Replay builds a simulator from setup, applies the log and moves the
// clock on to until (or, when zero, 30 days past the last line), sending
// what falls due on the way. Invalid events are reported as errors of
// their line, not applied; the replay stops at the first other error.
func Replay(setup Setup, log []Line, until time.Time, opts ...connector.Option) (*Simulator, []error, error) {
	if setup.Location != "" {
		loc, err := time.LoadLocation(setup.Location)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: location: %w", ErrScript, err)
		}
		opts = append([]connector.Option{connector.WithLocation(loc)}, opts...)
	}
	sim, err := New(setup.Start, opts...)
	if err != nil {
		return nil, nil, err
	}
	if err := sim.Save(setup.Campaigns...); err != nil {
		return nil, nil, fmt.Errorf("simulate: setup: %w", err)
	}
	if err := sim.Publish(setup.Publish...); err != nil {
		return nil, nil, fmt.Errorf("simulate: setup: %w", err)
	}
	var rejected []error
	last := setup.Start
	for i, l := range log {
		if l.Time.After(sim.Now()) {
			if _, err := sim.AdvanceTo(l.Time); err != nil {
				return sim, rejected, err
			}
		}
		last = sim.Now()
		switch l.Op {
		case "":
			err = sim.Track(l.Event)
			var ve *event.ValidationError
			if errors.As(err, &ve) {
				rejected = append(rejected, fmt.Errorf("line %d: %w", i+1, err))
				err = nil
			}
		case "publish":
			err = sim.Publish(l.Campaign)
		case "stop":
			err = sim.Engine.Stop(bgctx, l.Campaign)
		case "archive":
			err = sim.Engine.Archive(bgctx, l.Campaign)
		}
		if err != nil {
			return sim, rejected, fmt.Errorf("simulate: line %d: %w", i+1, err)
		}
	}
	if until.IsZero() {
		until = last.Add(30 * 24 * time.Hour)
	}
	if until.After(sim.Now()) {
		if _, err := sim.AdvanceTo(until); err != nil {
			return sim, rejected, err
		}
	}
	return sim, rejected, nil
}

// WriteTimeline writes the simulator's decisions as text, one per line.
func (s *Simulator) WriteTimeline(w io.Writer) error {
	var b strings.Builder
	for _, d := range s.Decisions() {
		b.WriteString(d.String())
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON writes the simulator's decisions as JSON lines.
func (s *Simulator) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	for _, d := range s.Decisions() {
		if err := enc.Encode(d); err != nil {
			return err
		}
	}
	return nil
}
