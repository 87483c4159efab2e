package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/simulate"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden timelines")

// TestSamples replays every sample and compares the timeline with its
// golden file (go test ./examples/simulate -update rewrites them).
func TestSamples(t *testing.T) {
	setups, err := filepath.Glob("testdata/*.setup.json")
	require.NoError(t, err)
	require.Len(t, setups, 5)
	for _, setup := range setups {
		name := filepath.Base(setup[:len(setup)-len(".setup.json")])
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			require.NoError(t, run(&out, setup, "testdata/"+name+".events.jsonl", "", false))
			golden := "testdata/" + name + ".golden"
			if *update {
				require.NoError(t, os.WriteFile(golden, out.Bytes(), 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err)
			require.Equal(t, string(want), out.String())
		})
	}
}

func TestJSONTimeline(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(&out, "testdata/resend.setup.json", "testdata/resend.events.jsonl", "2026-02-01T00:00:00Z", true))
	kinds := map[rule.DecisionKind]int{}
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		if bytes.HasPrefix(sc.Bytes(), []byte(`{"summary":`)) {
			continue // the last line: see TestJSONSummary
		}
		var d rule.Decision
		require.NoError(t, json.Unmarshal(sc.Bytes(), &d), sc.Text())
		kinds[d.Kind]++
	}
	require.Equal(t, map[rule.DecisionKind]int{rule.Scheduled: 3, rule.Ignored: 1, rule.Duplicate: 1, rule.Cancelled: 1, rule.Delivered: 2}, kinds)
}

func TestBadInput(t *testing.T) {
	require.Error(t, run(&bytes.Buffer{}, "", "", "", false))
	require.Error(t, run(&bytes.Buffer{}, "testdata/nope.json", "testdata/resend.events.jsonl", "", false))
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.jsonl")
	require.NoError(t, os.WriteFile(bad, []byte(`{"op":"teleport","campaign":"x"}`+"\n"), 0o644))
	require.ErrorContains(t, run(&bytes.Buffer{}, "testdata/resend.setup.json", bad, "", false), bad+`:1: unknown op "teleport"`)
	require.Error(t, run(&bytes.Buffer{}, "testdata/resend.setup.json", "testdata/resend.events.jsonl", "tomorrow", false))
	// A date without a time is the likely slip: the error shows the form.
	require.ErrorContains(t, run(&bytes.Buffer{}, "testdata/resend.setup.json", "testdata/resend.events.jsonl", "2026-02-01", false),
		`-until: "2026-02-01" is not in RFC 3339 form, such as "2026-02-01T00:00:00Z"`)
	// A setup's syntax error is named file:line:column; a campaign's
	// definition error names the campaign.
	badSetup := filepath.Join(dir, "bad.setup.json")
	require.NoError(t, os.WriteFile(badSetup, []byte("{\"start\": \"2026-01-05T00:00:00Z\",\n \"campaigns\": [{\"id\": \"a\",}]}\n"), 0o644))
	require.ErrorContains(t, run(&bytes.Buffer{}, badSetup, "testdata/resend.events.jsonl", "", false), badSetup+`:2:27: invalid character '}'`)
	require.NoError(t, os.WriteFile(badSetup, []byte(`{"start": "2026-01-05T00:00:00Z", "campaigns": [{"id": "a", "trigers": []}]}`), 0o644))
	require.ErrorContains(t, run(&bytes.Buffer{}, badSetup, "testdata/resend.events.jsonl", "", false), badSetup+`: bad script: setup: campaigns[0] (id "a")`)
}

// A delivery due after the clock stops (a delay longer than the 30 days
// the replay runs on past the last line) is said to be still waiting,
// with when the replay stopped, rather than left out of a report that
// reads "0 deliveries sent".
func TestReportSaysWhatIsStillWaiting(t *testing.T) {
	dir := t.TempDir()
	setup := filepath.Join(dir, "late.setup.json")
	require.NoError(t, os.WriteFile(setup, []byte(`{"start": "2026-01-05T09:00:00Z",
 "campaigns": [{"id": "newsletter"}, {"id": "winback", "triggers": [{"kind": "email_received", "campaign_id": "newsletter"}], "delay": {"after": "1440h"}}],
 "publish": ["winback", "newsletter"]}`), 0o644))
	var out bytes.Buffer
	require.NoError(t, run(&out, setup, "testdata/resend.events.jsonl", "", false))
	require.Contains(t, out.String(), "0 deliveries sent\n3 deliveries still waiting when the replay stopped at 2026-02-06T12:00:00Z (-until; by default 30 days after the last line)\n")

	out.Reset()
	require.NoError(t, run(&out, setup, "testdata/resend.events.jsonl", "2026-03-10T00:00:00Z", false))
	require.Contains(t, out.String(), "3 deliveries sent\n")
	require.NotContains(t, out.String(), "still waiting", "nothing left")
}

// The report's reason for where the clock stopped (-until, or 30 days
// after the last line) is given only when that is where it stopped: not
// when a line's error stopped the replay, nor when -until lies before the
// last line, which moves the clock no further.
func TestReportSaysWhyTheReplayStoppedOnlyWhenItRanToTheEnd(t *testing.T) {
	dir := t.TempDir()
	events := filepath.Join(dir, "archived.events.jsonl")
	require.NoError(t, os.WriteFile(events, []byte(`{"id": "sg-1", "user_id": "ann", "kind": "email_received", "campaign_id": "newsletter", "time": "2026-01-05T09:00:00Z"}
{"op": "archive", "campaign": "newsletter", "time": "2026-01-06T09:00:00Z"}
{"op": "publish", "campaign": "newsletter", "time": "2026-01-06T10:00:00Z"}
`), 0o644))
	var out bytes.Buffer
	require.ErrorContains(t, run(&out, "testdata/resend.setup.json", events, "", false), events+":3: ")
	require.Contains(t, out.String(), "0 deliveries sent\n1 delivery still waiting when the replay stopped at 2026-01-06T10:00:00Z\n", "stopped by line 3")

	out.Reset()
	require.NoError(t, run(&out, "testdata/resend.setup.json", "testdata/resend.events.jsonl", "2026-01-06T00:00:00Z", false))
	require.Contains(t, out.String(), "0 deliveries sent\n2 deliveries still waiting when the replay stopped at 2026-01-07T12:00:00Z\n", "-until before the last line")
}

// Every error about the setup names its file, those Replay finds before
// it runs (a definition the engine refuses, a campaign defined twice, an
// unknown zone, no follow-up published) as well as ReadSetup's; an error
// of a log line names the log, and one of -until the flag.
func TestSetupErrorsNameTheFile(t *testing.T) {
	dir := t.TempDir()
	setup := filepath.Join(dir, "campaigns.json")
	const follow = `{"id": "resend", "triggers": [{"kind": "email_received", "campaign_id": "newsletter"}]`
	for _, c := range []struct{ setup, want string }{
		{`{"start": "2026-01-05T09:00:00Z", "campaigns": [{"id": "newsletter"}, ` + follow + `, "delay": {"after": "-5h"}}], "publish": ["resend"]}`,
			`: setup: connector: save "resend": delay.after: -5h0m0s is outside`},
		{`{"start": "2026-01-05T09:00:00Z", "campaigns": [{"id": "newsletter"}, ` + follow + `}], "publish": ["resend", "nope"]}`,
			`: setup: connector: unknown campaign "nope" (publish)`},
		{`{"start": "2026-01-05T09:00:00Z", "campaigns": [{"id": "newsletter"}, {"id": "newsletter"}]}`,
			`: bad script: setup: campaigns[1] (id "newsletter"): campaigns[0] has that ID already`},
		{`{"start": "2026-01-05T09:00:00Z", "campaigns": [{"id": "newsletter"}, ` + follow + `}]}`,
			`: bad script: setup: no follow-up is published`},
		{`{"start": "2026-01-05T09:00:00Z", "location": "Mars/Base", "campaigns": [{"id": "newsletter"}, ` + follow + `}], "publish": ["resend"]}`,
			`: bad script: location: unknown time zone Mars/Base`},
		{`{"start": "2263-01-05T09:00:00Z", "campaigns": [{"id": "newsletter"}, ` + follow + `}], "publish": ["resend"]}`,
			`: bad script: setup: start 2263-01-05T09:00:00Z: store: time outside`},
	} {
		require.NoError(t, os.WriteFile(setup, []byte(c.setup), 0o644))
		err := run(&bytes.Buffer{}, setup, "testdata/resend.events.jsonl", "", false)
		require.ErrorContains(t, err, setup+c.want)
		require.NotContains(t, err.Error(), "simulate: ", "said once, by main")
		if strings.Contains(c.want, "bad script") {
			require.ErrorIs(t, err, simulate.ErrScript, "the library's error, wrapped")
		}
	}
	var ve *rule.ValidationError
	require.NoError(t, os.WriteFile(setup, []byte(`{"start": "2026-01-05T09:00:00Z", "campaigns": [{"id": ""}, `+follow+`}], "publish": ["resend"]}`), 0o644))
	require.ErrorAs(t, run(&bytes.Buffer{}, setup, "testdata/resend.events.jsonl", "", false), &ve, "the engine's error, wrapped")

	// -until's range is the flag's, not the setup's.
	err := run(&bytes.Buffer{}, "testdata/resend.setup.json", "testdata/resend.events.jsonl", "2263-01-01T00:00:00Z", false)
	require.ErrorContains(t, err, "until 2263-01-01T00:00:00Z: store: time outside")
	require.NotContains(t, err.Error(), "resend.setup.json")
}

// jsonSummary runs the command with -json and returns its last line, the
// summary, after checking that every line before it is a decision.
func jsonSummary(t *testing.T, setup, events, until string) (summary, error) {
	t.Helper()
	var out bytes.Buffer
	err := run(&out, setup, events, until, true)
	lines := bytes.Split(bytes.TrimSuffix(out.Bytes(), []byte("\n")), []byte("\n"))
	for _, l := range lines[:len(lines)-1] {
		var d rule.Decision
		require.NoError(t, json.Unmarshal(l, &d), "%s", l)
		require.NotEmpty(t, d.Kind, "%s", l)
	}
	var last map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(lines[len(lines)-1], &last))
	require.Len(t, last, 1, "%s", lines[len(lines)-1])
	var s summary
	require.NoError(t, json.Unmarshal(last["summary"], &s), "%s", lines[len(lines)-1])
	// Every field is there, zero or not.
	var fields map[string]any
	require.NoError(t, json.Unmarshal(last["summary"], &fields))
	require.Len(t, fields, 6, "%s", last["summary"])
	return s, err
}

// With -json, the last line is the summary the text report ends with:
// how many deliveries were sent, how many still wait (none included), and
// where and why the clock stopped.
func TestJSONSummary(t *testing.T) {
	s, err := jsonSummary(t, "testdata/resend.setup.json", "testdata/resend.events.jsonl", "2026-02-01T00:00:00Z")
	require.NoError(t, err)
	require.Equal(t, summary{Sent: 2, StoppedAt: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC), StoppedBy: "until"}, s)

	dir := t.TempDir()
	setup := filepath.Join(dir, "late.setup.json")
	require.NoError(t, os.WriteFile(setup, []byte(`{"start": "2026-01-05T09:00:00Z",
 "campaigns": [{"id": "newsletter"}, {"id": "winback", "triggers": [{"kind": "email_received", "campaign_id": "newsletter"}], "delay": {"after": "1440h"}}],
 "publish": ["winback", "newsletter"]}`), 0o644))
	s, err = jsonSummary(t, setup, "testdata/resend.events.jsonl", "")
	require.NoError(t, err)
	require.Equal(t, summary{Waiting: 3, StoppedAt: time.Date(2026, 2, 6, 12, 0, 0, 0, time.UTC), StoppedBy: "until"}, s)

	s, err = jsonSummary(t, "testdata/resend.setup.json", "testdata/resend.events.jsonl", "2026-01-06T00:00:00Z")
	require.NoError(t, err)
	require.Equal(t, summary{Waiting: 2, StoppedAt: time.Date(2026, 1, 7, 12, 0, 0, 0, time.UTC), StoppedBy: "last_line"}, s)

	events := filepath.Join(dir, "archived.events.jsonl")
	require.NoError(t, os.WriteFile(events, []byte(`{"id": "sg-1", "user_id": "ann", "kind": "email_received", "campaign_id": "newsletter", "time": "2026-01-05T09:00:00Z"}
{"op": "archive", "campaign": "newsletter", "time": "2026-01-06T09:00:00Z"}
{"op": "publish", "campaign": "newsletter", "time": "2026-01-06T10:00:00Z"}
`), 0o644))
	s, err = jsonSummary(t, "testdata/resend.setup.json", events, "")
	require.ErrorContains(t, err, events+":3: ")
	require.Equal(t, summary{Waiting: 1, StoppedAt: time.Date(2026, 1, 6, 10, 0, 0, 0, time.UTC), StoppedBy: "error"}, s)
}

// A delivery due after the end of the simulated clock (in 2262) is
// counted as waiting, and said to be past what any -until reaches; a
// default -until past that end stops the clock there, and says so.
func TestReportSaysWhatWaitsPastTheClocksEnd(t *testing.T) {
	dir := t.TempDir()
	setup := filepath.Join(dir, "far.setup.json")
	require.NoError(t, os.WriteFile(setup, []byte(`{"start": "2262-03-01T00:00:00Z",
 "campaigns": [{"id": "newsletter"}, {"id": "winback", "triggers": [{"kind": "email_received", "campaign_id": "newsletter"}], "delay": {"after": "2400h"}},
   {"id": "nudge", "triggers": [{"kind": "email_received", "campaign_id": "newsletter"}], "delay": {"after": "240h"}}],
 "publish": ["winback", "nudge", "newsletter"]}`), 0o644))
	events := filepath.Join(dir, "far.events.jsonl")
	require.NoError(t, os.WriteFile(events, []byte(`{"id": "sg-1", "user_id": "ann", "kind": "email_received", "campaign_id": "newsletter", "time": "2262-03-01T09:00:00Z"}`+"\n"), 0o644))

	var out bytes.Buffer
	require.NoError(t, run(&out, setup, events, "", false))
	require.Contains(t, out.String(), "1 delivery sent\n1 delivery still waiting when the replay stopped at 2262-03-31T09:00:00Z "+
		"(-until; by default 30 days after the last line), due after the end of the simulated clock (2262-04-11T23:47:16Z), which no -until reaches\n")
	s, err := jsonSummary(t, setup, events, "")
	require.NoError(t, err)
	require.Equal(t, summary{Sent: 1, Waiting: 1, WaitingPastClockEnd: 1, StoppedAt: time.Date(2262, 3, 31, 9, 0, 0, 0, time.UTC), StoppedBy: "until"}, s)

	// 30 days after the last line lies past the end: the clock stops at
	// the end, which the report names as the reason.
	require.NoError(t, os.WriteFile(events, []byte(`{"id": "sg-1", "user_id": "ann", "kind": "email_received", "campaign_id": "newsletter", "time": "2262-04-05T09:00:00Z"}`+"\n"), 0o644))
	out.Reset()
	require.NoError(t, run(&out, setup, events, "", false))
	require.Contains(t, out.String(), "0 deliveries sent\n2 deliveries still waiting when the replay stopped at 2262-04-11T23:47:16Z "+
		"(the end of the simulated clock), 2 of them due after it, which no -until reaches\n")
	s, err = jsonSummary(t, setup, events, "")
	require.NoError(t, err)
	require.Equal(t, summary{Waiting: 2, WaitingPastClockEnd: 2, StoppedAt: simulate.ClockEnd(), StoppedBy: "clock_end"}, s)
}

// An argument after the flags is refused, not ignored: a time given
// without -until, or a flag after a file name (which ends the flags),
// would otherwise be dropped without a word.
func TestArgumentsAfterTheFlagsAreRefused(t *testing.T) {
	var out bytes.Buffer
	err := cli([]string{"-setup", "testdata/resend.setup.json", "-events", "testdata/resend.events.jsonl", "2026-02-01T00:00:00Z"}, &out)
	require.ErrorContains(t, err, `unexpected argument "2026-02-01T00:00:00Z" after the flags`)
	require.Empty(t, out.String(), "nothing replayed")
	err = cli([]string{"-setup", "testdata/resend.setup.json", "testdata/resend.events.jsonl", "-json"}, &out)
	require.ErrorContains(t, err, `unexpected arguments "testdata/resend.events.jsonl" "-json" after the flags`)
	require.NoError(t, cli([]string{"-setup", "testdata/resend.setup.json", "-events", "testdata/resend.events.jsonl", "-json"}, &out))
	require.Contains(t, out.String(), `{"summary":`)
}

// A log without a line (empty, or blank and comment lines only) is
// refused, naming the file: no event, no decision, and the report's
// "0 deliveries sent" would read as the campaigns' doing.
func TestEmptyLogIsRefused(t *testing.T) {
	dir := t.TempDir()
	events := filepath.Join(dir, "events.jsonl")
	for _, src := range []string{"", "\ufeff", "# nothing yet\r\n\r\n"} {
		require.NoError(t, os.WriteFile(events, []byte(src), 0o644))
		var out bytes.Buffer
		require.ErrorContains(t, run(&out, "testdata/resend.setup.json", events, "", false),
			events+": no event or operation (the file is empty, or holds blank and comment lines only)")
		require.Empty(t, out.String())
	}
}

// A delivery of the control group still waiting is held out at its due
// time, nothing sent: the report says how many of those still waiting are
// such, rather than let them read as sends to come.
func TestReportSaysWhichWaitingDeliveriesAreHeldOut(t *testing.T) {
	dir := t.TempDir()
	setup := filepath.Join(dir, "held.setup.json")
	require.NoError(t, os.WriteFile(setup, []byte(`{"start": "2026-01-05T09:00:00Z",
 "campaigns": [{"id": "newsletter"},
   {"id": "winback", "triggers": [{"kind": "email_received", "campaign_id": "newsletter"}], "delay": {"after": "1440h"}, "control_percent": 100},
   {"id": "nudge", "triggers": [{"kind": "email_received", "campaign_id": "newsletter"}], "delay": {"after": "1440h"}}],
 "publish": ["winback", "nudge", "newsletter"]}`), 0o644))
	events := filepath.Join(dir, "held.events.jsonl")
	require.NoError(t, os.WriteFile(events, []byte(`{"id": "sg-1", "user_id": "ann", "kind": "email_received", "campaign_id": "newsletter", "time": "2026-01-05T09:00:00Z"}`+"\n"), 0o644))

	var out bytes.Buffer
	require.NoError(t, run(&out, setup, events, "", false))
	require.Contains(t, out.String(), "0 deliveries sent\n2 deliveries still waiting when the replay stopped at 2026-02-04T09:00:00Z "+
		"(-until; by default 30 days after the last line), 1 of them in the control group (held out when due: nothing is sent)\n")
	s, err := jsonSummary(t, setup, events, "")
	require.NoError(t, err)
	require.Equal(t, summary{Waiting: 2, WaitingControlGroup: 1, StoppedAt: time.Date(2026, 2, 4, 9, 0, 0, 0, time.UTC), StoppedBy: "until"}, s)

	// The control group's alone.
	require.NoError(t, os.WriteFile(setup, []byte(`{"start": "2026-01-05T09:00:00Z",
 "campaigns": [{"id": "newsletter"},
   {"id": "winback", "triggers": [{"kind": "email_received", "campaign_id": "newsletter"}], "delay": {"after": "1440h"}, "control_percent": 100}],
 "publish": ["winback", "newsletter"]}`), 0o644))
	out.Reset()
	require.NoError(t, run(&out, setup, events, "", false))
	require.Contains(t, out.String(), "0 deliveries sent\n1 delivery still waiting when the replay stopped at 2026-02-04T09:00:00Z "+
		"(-until; by default 30 days after the last line), in the control group (held out when due: nothing is sent)\n")
	s, err = jsonSummary(t, setup, events, "")
	require.NoError(t, err)
	require.Equal(t, summary{Waiting: 1, WaitingControlGroup: 1, StoppedAt: time.Date(2026, 2, 4, 9, 0, 0, 0, time.UTC), StoppedBy: "until"}, s)

	// Past its due time it was held out: nothing waits, nothing was sent.
	out.Reset()
	require.NoError(t, run(&out, setup, events, "2026-04-01T00:00:00Z", false))
	require.Contains(t, out.String(), "held_out winback user=ann")
	require.True(t, strings.HasSuffix(out.String(), "\n0 deliveries sent\n"), out.String())
}

// An error of a line, of the log or of the setup, is said as file:line
// (or file:line:column) and what is wrong, and keeps the library's errors
// in its chain: simulate.ErrScript and the *simulate.LineError with the
// line.
func TestLineErrorsKeepTheLibrarysErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.jsonl")
	require.NoError(t, os.WriteFile(bad, []byte("# a comment\n"+`{"op":"teleport","campaign":"x"}`+"\n"), 0o644))
	err := run(&bytes.Buffer{}, "testdata/resend.setup.json", bad, "", false)
	require.EqualError(t, err, bad+`:2: unknown op "teleport" (publish, stop, archive or advance; a line without "op" is an event)`)
	require.ErrorIs(t, err, simulate.ErrScript)
	var le *simulate.LineError
	require.ErrorAs(t, err, &le)
	require.Equal(t, 2, le.Line)

	badSetup := filepath.Join(dir, "bad.setup.json")
	require.NoError(t, os.WriteFile(badSetup, []byte("{\"start\": \"2026-01-05T00:00:00Z\",\n \"campaigns\": [{\"id\": \"a\",}]}\n"), 0o644))
	err = run(&bytes.Buffer{}, badSetup, "testdata/resend.events.jsonl", "", false)
	require.EqualError(t, err, badSetup+`:2:27: invalid character '}' looking for beginning of object key string`)
	require.ErrorIs(t, err, simulate.ErrScript)
	require.ErrorAs(t, err, &le)
	require.Equal(t, 27, le.Column)
}

// padTo returns line padded with spaces (which the readers trim) to n
// bytes.
func padTo(t *testing.T, line []byte, n int) []byte {
	t.Helper()
	require.LessOrEqual(t, len(line), n)
	return append(bytes.Clone(line), bytes.Repeat([]byte(" "), n-len(line))...)
}

// A setup file larger than the command reads is refused, naming the file
// and the limit, and so is a line of the log longer than it reads, at its
// line; a setup of the limit, and a log of lines of the limit (more than
// the limit in all), read.
func TestLargeInputsAreRefused(t *testing.T) {
	dir := t.TempDir()
	sample, err := os.ReadFile("testdata/resend.setup.json")
	require.NoError(t, err)
	setup := filepath.Join(dir, "big.setup.json")
	require.NoError(t, os.WriteFile(setup, padTo(t, sample, maxSetupBytes), 0o644))
	require.NoError(t, run(&bytes.Buffer{}, setup, "testdata/resend.events.jsonl", "", false), "a setup of the limit")
	require.NoError(t, os.WriteFile(setup, padTo(t, sample, maxSetupBytes+1), 0o644))
	err = run(&bytes.Buffer{}, setup, "testdata/resend.events.jsonl", "", false)
	require.EqualError(t, err, setup+": larger than 16 MiB (16777216 bytes), the most a setup file may hold")
	var tl *tooLargeError
	require.ErrorAs(t, err, &tl)
	require.ErrorIs(t, err, simulate.ErrScript, "the library's error, still in the chain, as for any setup it cannot read")

	events, err := os.ReadFile("testdata/resend.events.jsonl")
	require.NoError(t, err)
	lines := bytes.Split(bytes.TrimSpace(events), []byte("\n"))
	require.Greater(t, len(lines), 3)
	// The first three lines at the limit, ended by LF, CRLF and a lone CR:
	// each ends the line the bound counts.
	var log []byte
	for i, end := range []string{"\n", "\r\n", "\r"} {
		log = append(append(log, padTo(t, lines[i], maxLineBytes)...), end...)
	}
	log = append(log, bytes.Join(lines[3:], []byte("\n"))...)
	logPath := filepath.Join(dir, "big.events.jsonl")
	require.NoError(t, os.WriteFile(logPath, log, 0o644))
	var out, want bytes.Buffer
	require.NoError(t, run(&out, "testdata/resend.setup.json", logPath, "", false), "lines of the limit")
	require.NoError(t, run(&want, "testdata/resend.setup.json", "testdata/resend.events.jsonl", "", false))
	require.Equal(t, want.String(), out.String(), "the same replay as the sample's")

	log = append(append(append(bytes.Clone(lines[0]), '\n'), padTo(t, lines[1], maxLineBytes+1)...), '\n')
	require.NoError(t, os.WriteFile(logPath, log, 0o644))
	err = run(&bytes.Buffer{}, "testdata/resend.setup.json", logPath, "", false)
	require.EqualError(t, err, logPath+":2: larger than 1 MiB (1048576 bytes), the most a line of the event log may hold")
	require.ErrorAs(t, err, &tl)
	require.ErrorIs(t, err, simulate.ErrScript, "the library's error, still in the chain")
	var le *simulate.LineError
	require.ErrorAs(t, err, &le)
	require.Equal(t, 2, le.Line)
}

// A file that is not a setup or a log, and never ends, is refused at the
// limit: it does not read until memory runs out.
func TestEndlessInputIsRefused(t *testing.T) {
	if _, err := os.Stat("/dev/zero"); err != nil {
		t.Skip("no /dev/zero:", err)
	}
	require.EqualError(t, run(&bytes.Buffer{}, "/dev/zero", "testdata/resend.events.jsonl", "", false),
		"/dev/zero: larger than 16 MiB (16777216 bytes), the most a setup file may hold")
	require.EqualError(t, run(&bytes.Buffer{}, "testdata/resend.setup.json", "/dev/zero", "", false),
		"/dev/zero:1: larger than 1 MiB (1048576 bytes), the most a line of the event log may hold")
}
