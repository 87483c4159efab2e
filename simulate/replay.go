package simulate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/internal/linetext"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// Setup is what a replay starts from: the clock, the default time zone, the
// campaign definitions (saved in order) and the campaigns published at the
// start (in order). The engine's options (quiet hours, frequency caps, a
// directory of users' zones, allowed lateness…) are not part of it: pass
// them to [Replay]. Its JSON form:
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

// ErrScript reports a malformed setup or event log, with its line.
var ErrScript = errors.New("simulate: bad script")

// ReadSetup decodes a [Setup]. Unknown fields are refused, and so is a
// field given twice (by the same key, or by keys that differ in case). A
// UTF-8 byte order mark at the start is skipped (a UTF-16 file is
// refused, saying so). An error wraps [ErrScript] and says where the
// problem is: the line and column of a syntax or type error or of a key
// given twice (in a [LineError]; lines end at LF, CRLF or a lone CR, as
// an editor counts them), the campaign (its place in the list and its ID)
// whose definition is wrong.
func ReadSetup(r io.Reader) (Setup, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return Setup{}, fmt.Errorf("%w: setup: reading: %w", ErrScript, err)
	}
	if data, err = noBOM(data); err != nil {
		return Setup{}, fmt.Errorf("%w: setup: %w", ErrScript, err)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		// The decoder's bare "EOF" would read as a read cut short.
		return Setup{}, fmt.Errorf("%w: setup: empty, where a JSON object with a \"start\" is due: %w", ErrScript, io.EOF)
	}
	var raw struct {
		Start     time.Time         `json:"start"`
		Location  string            `json:"location,omitempty"`
		Campaigns []json.RawMessage `json:"campaigns"`
		Publish   []string          `json:"publish,omitempty"`
	}
	if err := decodeStrict(data, &raw); err != nil {
		if le := position(data, err); le != nil {
			return Setup{}, fmt.Errorf("%w: setup: %w", ErrScript, le)
		}
		return Setup{}, fmt.Errorf("%w: setup: %w", ErrScript, err)
	}
	if err := setupKeyTwice(data); err != nil {
		if le := position(data, err); le != nil {
			err = le
		}
		return Setup{}, fmt.Errorf("%w: setup: %w", ErrScript, err)
	}
	s := Setup{Start: raw.Start, Location: raw.Location, Publish: raw.Publish}
	for i, c := range raw.Campaigns {
		var camp rule.Campaign
		if err := decodeStrict(c, &camp); err != nil {
			var id struct {
				ID string `json:"id"`
			}
			_ = json.Unmarshal(c, &id) // best effort, to name the campaign
			// No line: the offsets of a definition's own decoding count
			// from wherever in it the faulty part starts.
			return Setup{}, fmt.Errorf("%w: setup: campaigns[%d] (id %q): %w", ErrScript, i, id.ID, err)
		}
		s.Campaigns = append(s.Campaigns, camp)
	}
	if s.Start.IsZero() {
		return Setup{}, fmt.Errorf("%w: setup: start is required", ErrScript)
	}
	return s, nil
}

// decodeStrict decodes data into v, refusing unknown fields and anything
// but white space after the value.
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if rest := bytes.TrimSpace(data[dec.InputOffset():]); len(rest) > 0 {
		return &trailingError{offset: int64(len(data) - len(rest) + 1)}
	}
	return nil
}

// setupKeyTwice returns the *duplicateKeyError of the first key of setup
// data (a JSON object) that sets a field a key before it set (keyTwice),
// or nil: a second "campaigns" list would silently replace the first.
func setupKeyTwice(data []byte) error {
	if k, first, at, ok := keyTwice(data); ok {
		return &duplicateKeyError{key: k, first: first, offset: at + 1}
	}
	return nil
}

// duplicateKeyError is a key of a setup that sets a field key first set,
// at offset (counted as json.SyntaxError counts: its opening quote
// included).
type duplicateKeyError struct {
	key, first string
	offset     int64
}

func (e *duplicateKeyError) Error() string {
	if e.key == e.first {
		return fmt.Sprintf("duplicate key %q", e.key)
	}
	return fmt.Sprintf("duplicate key %q (the same field as %q)", e.key, e.first)
}

// trailingError is text after a JSON value, at offset (counted as
// json.SyntaxError counts: the first byte of the text included).
type trailingError struct{ offset int64 }

func (e *trailingError) Error() string { return "text after the JSON value" }

// jsonOffset returns the offset a JSON error knows, if any.
func jsonOffset(err error) (int64, bool) {
	var (
		se *json.SyntaxError
		te *json.UnmarshalTypeError
		tr *trailingError
		dk *duplicateKeyError
	)
	switch {
	case errors.As(err, &tr):
		return tr.offset, true
	case errors.As(err, &dk):
		return dk.offset, true
	case errors.As(err, &se):
		return se.Offset, true
	case errors.As(err, &te):
		return te.Offset, true
	}
	return 0, false
}

// position returns err in a [LineError] holding the line and column of
// its offset into data, or nil when err has none.
func position(data []byte, err error) *LineError {
	off, ok := jsonOffset(err)
	if !ok || off < 0 || off > int64(len(data)) {
		return nil
	}
	// The offset counts the bytes read up to the error, the faulty one
	// included: the column is the last of them. Lines end as an editor
	// ends them, at LF, CRLF or a lone CR.
	line, start := 1, 0
	for i, b := range data[:off] {
		if b == '\n' || b == '\r' && (i+1 == len(data) || data[i+1] != '\n') {
			line, start = line+1, i+1
		}
	}
	return &LineError{Line: line, Column: max(int(off)-start, 1), Err: err}
}

// Replay builds a simulator from setup, applies the log and moves the
// clock on to until (or, when zero, 30 days past the last line, at most to
// the end of the simulated clock's range in 2262), sending what falls due
// on the way. How lines move the clock is described at [Line]. until does
// not cut the log short: every line is applied, and an until before the
// time the log leaves the clock at moves it no further. opts are passed to
// [New] (after a [connector.WithLocation] of setup.Location), for the
// engine's options the setup does not hold.
//
// Each move of the clock takes at least a millisecond of real time (the
// mock clock lets other goroutines run): a log of 5,000 lines at distinct
// times takes some seconds, most of them idle.
//
// Before anything runs it checks setup.Start (required, and within the
// simulated clock's range, 1678 to 2262), until (zero or within that
// range), that no two campaigns of the setup share an ID (as
// connector's Engine.Apply refuses such a set), every line (a known op
// with what it needs, a time the clock can reach) and that a follow-up (a
// campaign with triggers) is published, by setup.Publish or by a line (drafts hear no event: the
// replay would decide nothing), and refuses them with a nil simulator: a problem of the
// setup or of a line wraps [ErrScript] (and a [*LineError] for a line: an
// operation on a campaign the setup does not define is one), a time out
// of range [store.ErrTimeRange]. Invalid events are then
// reported as errors of their line (each a [*LineError]), not applied;
// the replay stops at the first other error, wrapping a [*LineError] when
// a line caused it.
func Replay(setup Setup, log []Line, until time.Time, opts ...connector.Option) (*Simulator, []error, error) {
	switch {
	case setup.Start.IsZero():
		return nil, nil, fmt.Errorf("%w: setup: start is required", ErrScript)
	case !inClock(setup.Start):
		return nil, nil, fmt.Errorf("%w: setup: start %s: %w", ErrScript, setup.Start.Format(time.RFC3339Nano), store.ErrTimeRange)
	case !until.IsZero() && !inClock(until):
		return nil, nil, fmt.Errorf("simulate: until %s: %w", until.Format(time.RFC3339Nano), store.ErrTimeRange)
	}
	defined := make(map[string]int, len(setup.Campaigns)) // the place of each campaign in the list
	for i, c := range setup.Campaigns {
		if j, dup := defined[c.ID]; dup {
			// Saved in turn, the later would replace the earlier without a
			// word (a copy left behind by an edit): Apply refuses such a set.
			return nil, nil, fmt.Errorf("%w: setup: campaigns[%d] (id %q): campaigns[%d] has that ID already: the replay would run the later definition alone",
				ErrScript, i, c.ID, j)
		}
		defined[c.ID] = i
	}
	for i, l := range log {
		err := l.check()
		if _, ok := defined[l.Campaign]; err == nil && l.Op != "" && l.Op != "advance" && !ok {
			err = fmt.Errorf("op %q names campaign %q, which the setup does not define", l.Op, l.Campaign)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %w", ErrScript, lineError(i, l, err))
		}
	}
	if err := checkPublished(setup, log); err != nil {
		return nil, nil, fmt.Errorf("%w: setup: %w", ErrScript, err)
	}
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
				return sim, rejected, fmt.Errorf("simulate: %w", lineError(i, l, err))
			}
		}
		last = sim.Now()
		switch l.Op {
		case "":
			err = sim.Track(l.Event)
			var ve *event.ValidationError
			if errors.As(err, &ve) {
				rejected = append(rejected, lineError(i, l, err))
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
			return sim, rejected, fmt.Errorf("simulate: %w", lineError(i, l, err))
		}
	}
	if until.IsZero() {
		until = last.Add(30 * 24 * time.Hour)
		if until.After(maxClock) {
			until = maxClock
		}
	}
	if until.After(sim.Now()) {
		if _, err := sim.AdvanceTo(until); err != nil {
			return sim, rejected, err
		}
	}
	return sim, rejected, nil
}

// checkPublished refuses a replay that could decide nothing: one whose
// setup defines no follow-up (a campaign with triggers), or publishes
// none, at the start or by a line of the log. Saved campaigns are drafts,
// and a draft follow-up hears no event: such a replay would run every
// line and report no decision, no send and no error.
func checkPublished(setup Setup, log []Line) error {
	published := make(map[string]bool, len(setup.Publish))
	for _, id := range setup.Publish {
		published[id] = true
	}
	for _, l := range log {
		if l.Op == "publish" {
			published[l.Campaign] = true
		}
	}
	var followUps []string
	for _, c := range setup.Campaigns {
		if len(c.Triggers) == 0 {
			continue
		}
		if published[c.ID] {
			return nil
		}
		followUps = append(followUps, c.ID)
	}
	if len(followUps) == 0 {
		return errors.New("no campaign of the setup has triggers: with no follow-up, a replay decides nothing")
	}
	return fmt.Errorf("no follow-up is published, at the start or by a line of the log (%s): saved campaigns are drafts, "+
		"a draft hears no event, and the replay would decide nothing; list them in \"publish\", before their originals",
		linetext.QuotedFirst(followUps, 3))
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
