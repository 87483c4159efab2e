package simulate

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
)

// MarshalJSON writes l as a line of an event log, the form [ReadLog]
// reads: an event line is its event's own JSON (its time the line's
// time), an operation line its op, campaign and time. It fails on a line
// that form cannot hold: an event line whose Time and Event.Time differ
// (one of them zero included: a Line with one time zero replays
// otherwise, see [Line]), or that carries a Campaign (its event's is
// Event.CampaignID), an operation line that carries an event, an advance
// that carries a campaign. It also fails on a line ReadLog would refuse
// (an unknown op, an operation without what it needs, a time after the
// simulated clock's range, wrapping [store.ErrTimeRange]) and on a time
// whose zone offset is not whole minutes, which RFC 3339 cannot write,
// or an event of an unknown kind (wrapping [event.ErrUnknownKind]; an
// event without a kind is written without "kind", as ReadLog reads it):
// what it writes reads back as l.
func (l Line) MarshalJSON() ([]byte, error) {
	if err := l.check(); err != nil {
		return nil, fmt.Errorf("simulate: %w", err)
	}
	// The time written is checked: an event line's is its event's (the
	// same instant as Time, in the event's zone), an operation line's is
	// Time.
	if l.Op == "" {
		ev := l.Event
		switch {
		case l.Campaign != "":
			return nil, fmt.Errorf("simulate: an event line carries Campaign %q: its event's campaign is Event.CampaignID", l.Campaign)
		case ev.Time.IsZero() && !l.Time.IsZero():
			return nil, fmt.Errorf("simulate: an event line's time is its event's: Event.Time is zero (the clock's time when the line applies) "+
				"and Time %s: set Event.Time to Time", l.Time.Format(time.RFC3339Nano))
		case l.Time.IsZero() && !ev.Time.IsZero():
			return nil, fmt.Errorf("simulate: an event line's time is its event's: Time is zero (the line applies at the clock's time) "+
				"and Event.Time %s: set Time to Event.Time", ev.Time.Format(time.RFC3339Nano))
		case !l.Time.Equal(ev.Time):
			return nil, fmt.Errorf("simulate: an event line's time is its event's: Time %s and Event.Time %s differ",
				l.Time.Format(time.RFC3339Nano), ev.Time.Format(time.RFC3339Nano))
		}
		if err := event.CheckTime(ev.Time); err != nil {
			return nil, fmt.Errorf("simulate: event time %s: %w", ev.Time.Format(time.RFC3339Nano), err)
		}
		if ev.Kind == "" {
			// ReadLog reads an event line without a kind (Replay
			// reports its event as invalid), so it is written without
			// one; Kind's MarshalText refuses the empty kind.
			return json.Marshal(struct {
				event.Event
				Kind string `json:"kind,omitempty"`
			}{Event: ev})
		}
		return json.Marshal(ev)
	}
	if !reflect.ValueOf(l.Event).IsZero() {
		return nil, fmt.Errorf("simulate: op %q line carries an event: an operation line has none", l.Op)
	}
	if l.Op == "advance" && l.Campaign != "" {
		return nil, fmt.Errorf("simulate: op \"advance\" line carries a campaign (%q): an advance has none", l.Campaign)
	}
	if err := event.CheckTime(l.Time); err != nil {
		return nil, fmt.Errorf("simulate: time %s: %w", l.Time.Format(time.RFC3339Nano), err)
	}
	return json.Marshal(struct {
		Op       string    `json:"op"`
		Campaign string    `json:"campaign,omitempty"`
		Time     time.Time `json:"time,omitzero"`
	}{l.Op, l.Campaign, l.Time})
}

// UnmarshalJSON reads l from a line of an event log as [ReadLog] does,
// with the same checks, and leaves Num zero.
func (l *Line) UnmarshalJSON(data []byte) error {
	if l == nil {
		return errors.New("simulate: UnmarshalJSON on a nil *Line")
	}
	line, err := parseLine(data)
	if err == nil {
		err = line.check()
	}
	if err != nil {
		return fmt.Errorf("%w: %w", ErrScript, err)
	}
	*l = line
	return nil
}
