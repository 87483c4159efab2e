package simulate

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/internal/editdist"
	"github.com/campaignconnector/campaignconnector/store"
)

// Line is one line of an event log: an event, or an operation when Op is
// set ("publish", "stop" or "archive" a Campaign, or "advance" the clock
// to Time).
//
// Lines are applied in order, and Time is the line's arrival: the clock
// moves forward to it first, then the line applies. A line stamped before
// the clock applies at the clock's time: an event is then a late event
// (tracked now, with its own time), an operation happens now, and an
// advance does nothing. The clock therefore follows the latest time seen,
// and one line stamped far ahead (a skewed provider clock) moves it there
// for good: every later line is late. A zero Time applies the line at the
// clock's time. Times after the simulated clock's range (the memory
// store's, which ends in 2262) cannot be replayed and are refused.
type Line struct {
	Op       string    `json:"op,omitempty"`
	Campaign string    `json:"campaign,omitempty"`
	Time     time.Time `json:"time,omitzero"`
	// Event is the event of an event line; ReadLog sets Time to its
	// Time. In the log, an event line is the event's own JSON form, not
	// nested: encoding/json writes and reads a Line in that form
	// ([Line.MarshalJSON], [Line.UnmarshalJSON]).
	Event event.Event
	// Num is the line's number in the log file, from 1, counting blank
	// and comment lines; [ReadLog] sets it. Errors about a line with no
	// Num (built in Go) name its position in the list, from 1, instead.
	Num int `json:"-"`
}

// LineError reports what is wrong with one line of an event log, or at
// one place of a setup. Errors of [ReadLog] and [Replay] about a line wrap
// one, and so do those of [ReadSetup] about a syntax or type error.
type LineError struct {
	// Line is the line's number: [Line.Num], or its position in the list
	// (from 1) when Num is zero; a setup's line, from 1.
	Line int
	// Column is the column in the line, from 1, when known (a setup's
	// syntax and type errors); 0 otherwise.
	Column int
	// Err is what is wrong.
	Err error
}

// Error returns "line N: " (or "line N, column C: ") and what is wrong.
func (e *LineError) Error() string {
	if e.Column > 0 {
		return fmt.Sprintf("line %d, column %d: %v", e.Line, e.Column, e.Err)
	}
	return fmt.Sprintf("line %d: %v", e.Line, e.Err)
}

// Unwrap returns e.Err.
func (e *LineError) Unwrap() error { return e.Err }

// lineError wraps err in a LineError naming l, the i-th line of a list.
func lineError(i int, l Line, err error) *LineError {
	n := l.Num
	if n <= 0 {
		n = i + 1
	}
	return &LineError{Line: n, Err: err}
}

// ReadLog decodes an event log in JSON lines (blank lines and lines
// starting with # are skipped). An event line holds the fields of an
// [event.Event] (and may hold an empty or null "op"); an operation line
// holds "op", "campaign" (for publish, stop and archive) and "time"
// (required for advance). An event line's other fields are ignored, as
// [event.Event]'s JSON form ignores them (logs written by later versions
// still read), except those a letter or two away from a field of events,
// refused as misspellings, so that a misspelt "time" is not taken for
// "now". An operation line's other fields are refused, and so are a
// field given twice on a line (by the same key, or by keys that differ
// in case) and times the simulated clock cannot reach (see [Line]). An
// event nested under "Event" (a Line written field by field, as a copy
// of the struct without [Line.MarshalJSON] would be) is refused too: it
// would read as an empty event.
// Lines may be of any length: to bound what is read, give a reader that
// fails past the bound (io.LimitReader ends the input there without an
// error, so a log it cuts at a line's end reads as a shorter log). Lines may end in LF, CRLF or a lone CR (classic Mac OS), mixed
// too, each counted as an editor counts it, and a UTF-8 byte order mark
// at the start is skipped (a UTF-16 file is refused, saying so). Errors
// wrap [ErrScript] and a [*LineError] naming the line in the file.
func ReadLog(r io.Reader) ([]Line, error) {
	var out []Line
	br := bufio.NewReaderSize(r, 64<<10)
	for n := 1; ; n++ {
		raw, rerr := readLine(br)
		if rerr != nil && rerr != io.EOF {
			return nil, fmt.Errorf("%w: %w", ErrScript, &LineError{Line: n, Err: fmt.Errorf("reading: %w", rerr)})
		}
		if n == 1 {
			var err error
			if raw, err = noBOM(raw); err != nil {
				return nil, fmt.Errorf("%w: %w", ErrScript, &LineError{Line: n, Err: err})
			}
		}
		if text := bytes.TrimSpace(raw); len(text) > 0 && text[0] != '#' {
			l, err := parseLine(text)
			if err == nil {
				err = l.check()
			}
			if err != nil {
				return nil, fmt.Errorf("%w: %w", ErrScript, &LineError{Line: n, Err: err})
			}
			l.Num = n
			out = append(out, l)
		}
		if rerr == io.EOF {
			return out, nil
		}
	}
}

// readLine returns the next line of br without its end: LF, CRLF or a
// lone CR, the line ends editors know. A raw CR has no other place in a
// line of a log: JSON strings cannot hold one, and a JSON object spread
// over lines (by CRs or LFs) is not a line of JSON lines; as a line end,
// it keeps what an editor shows on a line of its own (an event after a
// comment) from being read as part of the line before. With the last
// line, it returns the error that ended the input (io.EOF at its end).
func readLine(br *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		if br.Buffered() == 0 {
			if _, err := br.Peek(1); err != nil { // fills the buffer
				return line, err
			}
		}
		buf, _ := br.Peek(br.Buffered())
		i := bytes.IndexAny(buf, "\r\n")
		if i < 0 {
			line = append(line, buf...)
			_, _ = br.Discard(len(buf))
			continue
		}
		line = append(line, buf[:i]...)
		cr := buf[i] == '\r'
		_, _ = br.Discard(i + 1)
		if cr { // a lone CR, or the start of a CRLF
			next, err := br.Peek(1)
			if err != nil {
				return line, err
			}
			if next[0] == '\n' {
				_, _ = br.Discard(1)
			}
		}
		return line, nil
	}
}

// noBOM returns the start of a file without the UTF-8 byte order mark
// some editors write there, or an error when it starts with a UTF-16 one:
// the readers decode UTF-8 only, and would otherwise report the mark as
// an invalid character that no editor shows.
func noBOM(data []byte) ([]byte, error) {
	if bytes.HasPrefix(data, []byte{0xff, 0xfe}) || bytes.HasPrefix(data, []byte{0xfe, 0xff}) {
		return nil, errors.New("the file is UTF-16 (it starts with a UTF-16 byte order mark): save it as UTF-8")
	}
	return bytes.TrimPrefix(data, []byte("\ufeff")), nil
}

// opFields are the fields an operation line may hold; eventFields those of
// an event line, read from event.Event's JSON tags so that a field added to
// events is accepted here too.
var (
	opFields      = []string{"op", "campaign", "time"}
	advanceFields = []string{"op", "time"}
	eventFields   = jsonNames(reflect.TypeFor[event.Event]())
	// eventLineFields are an event line's: an event's, and an empty op.
	eventLineFields = slices.Concat(eventFields, []string{"op"})
)

// jsonNames returns the names encoding/json gives t's exported fields.
func jsonNames(t reflect.Type) []string {
	var names []string
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case !f.IsExported() || name == "-":
		case name == "":
			names = append(names, f.Name)
		default:
			names = append(names, name)
		}
	}
	return names
}

// parseLine decodes one line of a log: an operation when it has an "op"
// field, an event otherwise.
func parseLine(text []byte) (Line, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(text, &fields); err != nil {
		return Line{}, err
	}
	if fields == nil {
		return Line{}, errors.New("not a JSON object")
	}
	if err := noTwice(text); err != nil {
		return Line{}, err
	}
	if op, ok := field(fields, "op"); !ok || string(op) == "null" || string(op) == `""` {
		if err := noMisspelt(fields, eventLineFields); err != nil {
			return Line{}, err
		}
		if err := notNested(fields); err != nil {
			return Line{}, err
		}
		var ev event.Event
		if err := json.Unmarshal(text, &ev); err != nil {
			return Line{}, timeHint(err)
		}
		return Line{Time: ev.Time, Event: ev}, nil
	}
	var op struct {
		Op       string    `json:"op"`
		Campaign string    `json:"campaign"`
		Time     time.Time `json:"time"`
	}
	if err := json.Unmarshal(text, &op); err != nil {
		return Line{}, timeHint(err)
	}
	allowed := opFields
	switch op.Op {
	case "publish", "stop", "archive":
	case "advance":
		allowed = advanceFields
	default:
		return Line{}, errUnknownOp(op.Op)
	}
	if err := onlyFields(fields, allowed, op.Op); err != nil {
		return Line{}, err
	}
	return Line{Op: op.Op, Campaign: op.Campaign, Time: op.Time}, nil
}

// notNested refuses an event line whose event is nested under "Event",
// the form of a Line written field by field (a copy of the struct
// without [Line.MarshalJSON]): an object under that key (matched without regard to case), and neither
// "user_id" nor "kind" beside it. Read as an event line, it would be an
// event with no field, without an error. A field of the line's own named
// "event", beside the event's fields, is let through.
func notNested(fields map[string]json.RawMessage) error {
	v, ok := field(fields, "event")
	if !ok || len(v) == 0 || v[0] != '{' {
		return nil
	}
	if _, ok := field(fields, "user_id"); ok {
		return nil
	}
	if _, ok := field(fields, "kind"); ok {
		return nil
	}
	return errors.New(`an event line is the event's own JSON ({"user_id": …, "kind": …}), not nested under "Event" ` +
		`(json.Marshal of a simulate.Line writes the event's own JSON)`)
}

// errUnknownOp says that op is none of the operations, and which are.
func errUnknownOp(op string) error {
	return fmt.Errorf("unknown op %q (publish, stop, archive or advance; a line without \"op\" is an event)", op)
}

// timeHint adds to a time that does not parse the form it must have.
func timeHint(err error) error {
	var pe *time.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("time %q is not in RFC 3339 form, such as \"2026-01-05T10:00:00Z\": %w", pe.Value, err)
	}
	return err
}

// noTwice refuses a line naming a field twice, by the same key or by
// keys that match without regard to case as encoding/json matches them
// ("op" and "OP"): which one counts would be left to the order of
// decoding. text is a JSON object.
func noTwice(text []byte) error {
	k, first, _, ok := keyTwice(text)
	switch {
	case !ok:
		return nil
	case k == first:
		return fmt.Errorf("field %q is given twice", k)
	}
	a, b := min(k, first), max(k, first)
	return fmt.Errorf("fields %q and %q are the same field (names match without regard to case)", a, b)
}

// keyTwice returns the first key of the JSON object data that names a
// field a key before it named (first), by the same key or by one that
// matches it without regard to case as encoding/json matches them, with
// the offset of its opening quote; ok is false when there is none.
// encoding/json would keep the last of them, silently.
func keyTwice(data []byte) (key, first string, at int64, ok bool) {
	seen := make(map[string]string)
	eachTopKey(data, func(k string, off int64) bool {
		fk := foldKey(k)
		if f, dup := seen[fk]; dup {
			key, first, at, ok = k, f, off, true
			return false
		}
		seen[fk] = k
		return true
	})
	return key, first, at, ok
}

// eachTopKey calls fn with each key of the JSON object data, in the order
// written, and the offset of its opening quote, until fn returns false.
// It does nothing more after what is not an object or not well formed.
func eachTopKey(data []byte, fn func(key string, at int64) bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return
	}
	for dec.More() {
		at := dec.InputOffset()
		for at < int64(len(data)) && strings.IndexByte(" \t\r\n,", data[at]) >= 0 {
			at++
		}
		t, err := dec.Token()
		key, ok := t.(string)
		var value json.RawMessage
		if err != nil || !ok || dec.Decode(&value) != nil || !fn(key, at) {
			return
		}
	}
}

// foldKey returns the key encoding/json matches field names by, each
// letter replaced by the least of those it folds with: "uſer_id" (a long
// s) has the key of "user_id", as encoding/json decodes either into
// UserID, though strings.ToLower leaves the long s as it is.
func foldKey(name string) string {
	var b strings.Builder
	b.Grow(len(name))
	for _, r := range name {
		for {
			next := unicode.SimpleFold(r)
			if next <= r {
				r = next
				break
			}
			r = next
		}
		b.WriteRune(r)
	}
	return b.String()
}

// field returns the value of field name, matched without regard to case
// as encoding/json matches it.
func field(fields map[string]json.RawMessage, name string) (json.RawMessage, bool) {
	for k, v := range fields {
		if strings.EqualFold(k, name) {
			return bytes.TrimSpace(v), true
		}
	}
	return nil, false
}

// noMisspelt reports the fields that are not in known but most likely
// misspell one, where other unknown fields may be a later version's: both
// names of four bytes or more, and one edit apart (two when both have six
// or more: "tmie", "usr_id"), or the field the start of a known one
// holding at least 70 % of it ("campaign" for "campaign_id", not "user"
// for "user_id").
func noMisspelt(fields map[string]json.RawMessage, known []string) error {
	var bad []string
	for k := range fields {
		if len(k) < 4 || len(k) > 64 || slices.ContainsFunc(known, func(a string) bool { return strings.EqualFold(a, k) }) {
			continue
		}
		lower := strings.ToLower(k)
		for _, a := range known {
			if len(a) < 4 {
				continue
			}
			limit := 1
			if len(k) >= 6 && len(a) >= 6 {
				limit = 2
			}
			if editdist.AtMost(lower, a, limit) <= limit || strings.HasPrefix(a, lower) && 10*len(lower) >= 7*len(a) {
				bad = append(bad, fmt.Sprintf("%q (did you mean %q?)", k, a))
				break
			}
		}
	}
	return unknownFields(bad, "for an event")
}

// onlyFields reports the fields of operation op's line not in allowed
// (matched without regard to case, as encoding/json matches them).
func onlyFields(fields map[string]json.RawMessage, allowed []string, op string) error {
	var unknown []string
	for k := range fields {
		if !slices.ContainsFunc(allowed, func(a string) bool { return strings.EqualFold(a, k) }) {
			unknown = append(unknown, fmt.Sprintf("%q", k))
		}
	}
	return unknownFields(unknown, fmt.Sprintf("for op %q (it takes %s)", op, strings.Join(allowed[1:], " and ")))
}

// unknownFields says which fields (quoted, in any order) a line may not
// hold, and why; nil when there is none.
func unknownFields(quoted []string, why string) error {
	if len(quoted) == 0 {
		return nil
	}
	slices.Sort(quoted)
	what := "unknown field"
	if len(quoted) > 1 {
		what += "s"
	}
	return fmt.Errorf("%s %s %s", what, strings.Join(quoted, ", "), why)
}

// check reports what makes l impossible to replay: an unknown op, an
// operation without what it needs, or a time the simulated clock cannot
// reach.
func (l Line) check() error {
	switch l.Op {
	case "":
	case "publish", "stop", "archive":
		if l.Campaign == "" {
			return fmt.Errorf("op %q needs a campaign", l.Op)
		}
	case "advance":
		if l.Time.IsZero() {
			return errors.New(`op "advance" needs a time`)
		}
	default:
		return errUnknownOp(l.Op)
	}
	if l.Time.After(maxClock) {
		return fmt.Errorf("time %s is after %s: %w",
			l.Time.Format(time.RFC3339Nano), maxClock.Format(time.RFC3339), store.ErrTimeRange)
	}
	return nil
}
