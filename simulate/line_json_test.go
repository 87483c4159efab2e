package simulate_test

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/simulate"
	"github.com/campaignconnector/campaignconnector/store"
)

// TestLinesRoundTripThroughEncodingJSON: every line of the sample logs,
// read with ReadLog, marshalled with encoding/json and read back (with
// ReadLog, and with json.Unmarshal), is the line it was; Go code can
// write a log of Lines with json.Marshal.
func TestLinesRoundTripThroughEncodingJSON(t *testing.T) {
	logs, err := filepath.Glob("../examples/simulate/testdata/*.events.jsonl")
	require.NoError(t, err)
	require.NotEmpty(t, logs)
	for _, name := range logs {
		f, err := os.Open(name)
		require.NoError(t, err)
		lines, err := simulate.ReadLog(f)
		f.Close()
		require.NoError(t, err, name)
		var out bytes.Buffer
		for i := range lines {
			lines[i].Num = 0
			b, err := json.Marshal(lines[i])
			require.NoError(t, err, "%s: line %d", name, i+1)
			var back simulate.Line
			require.NoError(t, json.Unmarshal(b, &back), "%s: %s", name, b)
			require.Equal(t, lines[i], back, "%s: %s", name, b)
			out.Write(b)
			out.WriteByte('\n')
		}
		again, err := simulate.ReadLog(&out)
		require.NoError(t, err, name)
		for i := range again {
			again[i].Num = 0
		}
		require.Equal(t, lines, again, name)
	}
}

// TestAnEventLinesTimeIsItsEvents: an event line built in Go with its
// time on both the Line and the event is written at it; one whose two
// times differ, one of them zero included, and an operation line with an
// event, cannot be written in the log's form and are errors. A line that
// does not parse is an error wrapping ErrScript.
//
// A log line's time is both its arrival and its event's time, while a
// Line with one time zero replays otherwise: a zero Time applies it at
// the clock's time (its event, stamped ahead, does not move the clock;
// see Line), and a zero Event.Time stamps the event with the clock's time
// (not the line's, when the line is late). Either, written with the one
// time, would replay differently.
func TestAnEventLinesTimeIsItsEvents(t *testing.T) {
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	ev := event.Event{ID: "e1", UserID: "ann", Kind: event.EmailOpened, CampaignID: "news"}
	_, err := json.Marshal(simulate.Line{Time: at, Event: ev})
	require.ErrorContains(t, err, "an event line's time is its event's: Event.Time is zero")
	stamped := ev
	stamped.Time = at
	_, err = json.Marshal(simulate.Line{Event: stamped})
	require.ErrorContains(t, err, "an event line's time is its event's: Time is zero")
	b, err := json.Marshal(simulate.Line{Event: ev})
	require.NoError(t, err)
	require.NotContains(t, string(b), "time")
	b, err = json.Marshal(simulate.Line{Time: at, Event: stamped})
	require.NoError(t, err)
	var back simulate.Line
	require.NoError(t, json.Unmarshal(b, &back))
	require.True(t, back.Event.Time.Equal(at), "%s", b)
	require.True(t, back.Time.Equal(at), "%s", b)

	ev.Time = at.Add(time.Minute)
	_, err = json.Marshal(simulate.Line{Time: at, Event: ev})
	require.ErrorContains(t, err, "an event line's time is its event's")
	_, err = json.Marshal(simulate.Line{Op: "stop", Campaign: "news", Event: ev})
	require.ErrorContains(t, err, `op "stop" line carries an event`)

	err = json.Unmarshal([]byte(`{"op":"halt","campaign":"news"}`), &back)
	require.ErrorIs(t, err, simulate.ErrScript)
	require.ErrorContains(t, err, "halt")
}

// TestTheNestedFormIsRefused: encoding/json wrote a Line, before
// Line.MarshalJSON, with its event nested under "Event"; such a line
// read as an event with no field (an empty event) without a word. ReadLog
// and json.Unmarshal refuse it, saying why; an event line may still
// carry a field of its own named "event" beside the event's fields.
func TestTheNestedFormIsRefused(t *testing.T) {
	for _, line := range []string{
		`{"time":"2026-03-02T09:00:00Z","Event":{"id":"e1","user_id":"ann","kind":"email_opened","campaign_id":"news"}}`,
		`{"Event":{"user_id":"ann","kind":"email_opened","campaign_id":"news"}}`,
		`{"event":{"user_id":"ann","kind":"email_opened","campaign_id":"news"},"op":""}`,
	} {
		_, err := simulate.ReadLog(strings.NewReader("# old\n" + line + "\n"))
		var le *simulate.LineError
		require.ErrorIs(t, err, simulate.ErrScript, line)
		require.ErrorAs(t, err, &le, line)
		require.Equal(t, 2, le.Line, line)
		require.ErrorContains(t, err, `not nested under "Event"`, line)

		var l simulate.Line
		err = json.Unmarshal([]byte(line), &l)
		require.ErrorIs(t, err, simulate.ErrScript, line)
		require.ErrorContains(t, err, `not nested under "Event"`, line)
	}
	ls, err := simulate.ReadLog(strings.NewReader(`{"user_id":"ann","kind":"email_opened","campaign_id":"news","event":{"src":"sg"}}`))
	require.NoError(t, err)
	require.Equal(t, "ann", ls[0].Event.UserID)
}

// TestMarshalWritesOnlyWhatReadsBack: json.Marshal refuses a line that
// ReadLog would refuse, or read back as another line, rather than write
// a log that fails or differs far from the code that built it: an
// operation ReadLog refuses, an advance with a campaign, an event line
// with a Campaign (the event's is its CampaignID), a time the clock
// cannot reach or RFC 3339 cannot write (a zone offset with seconds, on
// the time it writes: an event line's Time, in another zone than its
// event's, is not written). What it accepts reads back as the line it
// was.
func TestMarshalWritesOnlyWhatReadsBack(t *testing.T) {
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	ev := event.Event{ID: "e1", UserID: "ann", Kind: event.EmailOpened, CampaignID: "news", Time: at}
	far := time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)
	lmt := time.Date(2026, 3, 2, 9, 0, 0, 0, time.FixedZone("LMT", 19*60+32))
	farEv, lmtEv := ev, ev
	farEv.Time, lmtEv.Time = far, lmt
	for _, tc := range []struct {
		name string
		l    simulate.Line
		want string
	}{
		{"unknown op", simulate.Line{Op: "halt", Campaign: "news"}, `unknown op "halt"`},
		{"publish without campaign", simulate.Line{Op: "publish", Time: at}, `op "publish" needs a campaign`},
		{"advance without time", simulate.Line{Op: "advance"}, `op "advance" needs a time`},
		{"advance with campaign", simulate.Line{Op: "advance", Campaign: "news", Time: at}, `op "advance" line carries a campaign`},
		{"event line with campaign", simulate.Line{Campaign: "news", Time: at, Event: ev}, `event line carries Campaign "news"`},
		{"op past the clock", simulate.Line{Op: "stop", Campaign: "news", Time: far}, "is after"},
		{"event past the clock", simulate.Line{Time: far, Event: farEv}, "is after"},
		{"op time with seconds offset", simulate.Line{Op: "stop", Campaign: "news", Time: lmt}, "zone offset of 1172 seconds"},
		{"event time with seconds offset", simulate.Line{Time: lmt, Event: lmtEv}, "zone offset of 1172 seconds"},
	} {
		b, err := json.Marshal(tc.l)
		require.ErrorContains(t, err, tc.want, "%s: wrote %s", tc.name, b)
	}
	_, err := json.Marshal(simulate.Line{Time: far, Event: farEv})
	require.ErrorIs(t, err, store.ErrTimeRange)

	ev2 := func(at time.Time) event.Event { e := ev; e.Time = at; return e }
	tokyo := time.FixedZone("JST", 9*3600)
	evTokyo := ev
	evTokyo.Time = at.In(tokyo)
	for _, l := range []simulate.Line{
		{Op: "publish", Campaign: "news"},
		{Op: "stop", Campaign: "news", Time: at},
		{Op: "archive", Campaign: "news", Time: at.In(tokyo)},
		{Op: "advance", Time: at.Add(7)},
		{Time: at, Event: ev},
		{Time: at.In(tokyo), Event: evTokyo},
		{Time: lmt, Event: ev2(lmt.UTC())}, // the time written is the event's
		{Event: event.Event{UserID: "ann", Kind: event.CustomEvent, Name: "n", Properties: map[string]any{"p": json.Number("1.50")}}},
	} {
		b, err := json.Marshal(l)
		require.NoError(t, err, "%+v", l)
		var back simulate.Line
		require.NoError(t, json.Unmarshal(b, &back), "%s", b)
		require.True(t, back.Time.Equal(l.Time) && back.Event.Time.Equal(l.Event.Time), "%s", b)
		back.Time, back.Event.Time = l.Time, l.Event.Time
		require.Equal(t, l, back, "%s", b)
	}
}

// TestAnEventLineWithoutKindIsMarshalled: ReadLog reads an event line
// without a kind (Replay reports it, line by line, as the invalid event
// it is, and goes on), so json.Marshal writes such a Line too, without
// "kind", and it reads back as the line it was: every line ReadLog
// returns can be written back.
func TestAnEventLineWithoutKindIsMarshalled(t *testing.T) {
	for _, in := range []string{
		`{}`,
		`{"user_id":"ann"}`,
		`{"user_id":"ann","kind":null,"time":"2026-03-02T09:00:00Z"}`,
		`{"id":"e1","user_id":"ann","campaign_id":"news","properties":{"kind":"email_opened"}}`,
	} {
		lines, err := simulate.ReadLog(strings.NewReader(in))
		require.NoError(t, err, in)
		l := lines[0]
		l.Num = 0
		b, err := json.Marshal(l)
		require.NoError(t, err, in)
		require.NotContains(t, strings.ReplaceAll(string(b), `"properties":{"kind"`, ""), `"kind"`, in)
		var back simulate.Line
		require.NoError(t, json.Unmarshal(b, &back), "%s", b)
		require.True(t, back.Time.Equal(l.Time) && back.Event.Time.Equal(l.Event.Time), "%s", b)
		back.Time, back.Event.Time = l.Time, l.Event.Time
		require.Equal(t, l, back, "%s", b)
	}
	_, err := json.Marshal(simulate.Line{Event: event.Event{UserID: "ann", Kind: "email_opend"}})
	require.ErrorIs(t, err, event.ErrUnknownKind)
}

// recordDoc is docs/diagnostics.md's record, as the page has it.
func recordDoc(w io.Writer, ev event.Event, arrived time.Time) error {
	lines := []simulate.Line{{Time: ev.Time, Event: ev}}
	if arrived.After(ev.Time) {
		lines = []simulate.Line{{Op: "advance", Time: arrived}, {Time: ev.Time, Event: ev}}
	}
	var out []byte
	for _, l := range lines {
		b, err := json.Marshal(l)
		if err != nil {
			return err
		}
		out = append(append(out, b...), '\n')
	}
	_, err := w.Write(out)
	return err
}

// TestTheDiagnosticsRecordWritesALog: the page's way of recording
// events with their arrival times (recordDoc, which the page holds)
// writes a log that replays as the arrivals imply: bob's open, stamped
// before the resend falls due but arriving after it, is ignored, and
// ann's on-time receipt schedules the resend.
func TestTheDiagnosticsRecordWritesALog(t *testing.T) {
	page, err := os.ReadFile("../docs/diagnostics.md")
	require.NoError(t, err)
	require.True(t, strings.Contains(string(page), "\tlines := []simulate.Line{{Time: ev.Time, Event: ev}}\n"+
		"\tif arrived.After(ev.Time) {\n"+
		"\t\tlines = []simulate.Line{{Op: \"advance\", Time: arrived}, {Time: ev.Time, Event: ev}}\n"),
		"docs/diagnostics.md's record is not recordDoc")

	at := func(day, hour int) time.Time { return time.Date(2026, 1, day, hour, 0, 0, 0, time.UTC) }
	var log bytes.Buffer
	for _, r := range []struct {
		ev      event.Event
		arrived time.Time
	}{
		{event.Event{ID: "r1", UserID: "ann", Kind: event.EmailReceived, CampaignID: "newsletter", Time: at(5, 10)}, at(5, 10)},
		{event.Event{ID: "r2", UserID: "bob", Kind: event.EmailReceived, CampaignID: "newsletter", Time: at(5, 10)}, at(5, 10)},
		{event.Event{ID: "o1", UserID: "bob", Kind: event.EmailOpened, CampaignID: "newsletter", Time: at(7, 8)}, at(20, 9)},
	} {
		require.NoError(t, recordDoc(&log, r.ev, r.arrived))
	}
	lines, err := simulate.ReadLog(&log)
	require.NoError(t, err)
	require.Len(t, lines, 4)
	setup, err := simulate.ReadSetup(strings.NewReader(`{"start": "2026-01-05T09:00:00Z",
		"campaigns": [{"id": "newsletter"}, {"id": "resend",
			"triggers": [{"kind": "email_received", "campaign_id": "newsletter"}],
			"delay": {"after": "168h"},
			"exceptions": [{"kind": "email_opened", "campaign_id": "newsletter"}]}],
		"publish": ["resend", "newsletter"]}`))
	require.NoError(t, err)
	sim, rejected, err := simulate.Replay(setup, lines, at(21, 0))
	require.NoError(t, err)
	require.Empty(t, rejected)
	var users []string
	for _, d := range sim.Sender.Accepted() {
		users = append(users, d.UserID)
	}
	require.Equal(t, []string{"ann", "bob"}, users)
}
