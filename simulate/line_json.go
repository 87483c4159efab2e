package simulate

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"time"
)

// MarshalJSON writes l as a line of an event log, the form [ReadLog]
// reads: an event line is its event's own JSON (its time the line's
// time), an operation line its op, campaign and time. It fails on a line
// that form cannot hold: an event line whose Time and Event.Time are
// both set and differ, or an operation line that carries an event.
func (l Line) MarshalJSON() ([]byte, error) {
	if l.Op == "" {
		ev := l.Event
		switch {
		case ev.Time.IsZero():
			ev.Time = l.Time
		case !l.Time.IsZero() && !l.Time.Equal(ev.Time):
			return nil, fmt.Errorf("simulate: an event line's time is its event's: Time %s and Event.Time %s differ",
				l.Time.Format(time.RFC3339Nano), ev.Time.Format(time.RFC3339Nano))
		}
		return json.Marshal(ev)
	}
	if !reflect.ValueOf(l.Event).IsZero() {
		return nil, fmt.Errorf("simulate: op %q line carries an event: an operation line has none", l.Op)
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
