package simulate_test

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/simulate"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/stretchr/testify/require"
)

// received is an event line: user received the newsletter at at.
func received(user, at string) string {
	return fmt.Sprintf(`{"user_id":%q,"kind":"email_received","campaign_id":"newsletter","time":%q}`, user, at)
}

// requireLine requires err to wrap a *simulate.LineError for line n whose
// message holds each of want.
func requireLine(t *testing.T, err error, n int, want ...string) {
	t.Helper()
	var le *simulate.LineError
	require.ErrorAs(t, err, &le)
	require.Equal(t, n, le.Line, "%v", err)
	require.ErrorContains(t, err, fmt.Sprintf("line %d: ", n))
	for _, w := range want {
		require.ErrorContains(t, err, w)
	}
}

func TestReplayNamesFileLines(t *testing.T) {
	src := "# comments and blank lines count\n# as lines of the file\n\n" +
		received("ann", "2026-01-05T09:00:00Z") + "\n" + // line 4
		received("", "2026-01-05T10:00:00Z") + "\n" + // line 5: no user
		`{"op":"archive","campaign":"resend","time":"2026-01-05T11:00:00Z"}` + "\n" + // line 6
		`{"op":"publish","campaign":"resend","time":"2026-01-05T12:00:00Z"}` + "\n" // line 7: archived
	log, err := simulate.ReadLog(strings.NewReader(src))
	require.NoError(t, err)
	require.Equal(t, []int{4, 5, 6, 7}, []int{log[0].Num, log[1].Num, log[2].Num, log[3].Num})

	sim, rejected, err := simulate.Replay(resendSetup(), log, time.Time{})
	require.NotNil(t, sim)
	require.Len(t, rejected, 1)
	requireLine(t, rejected[0], 5, "user_id")
	requireLine(t, err, 7, `archived`)

	// An operation on a campaign the setup does not define is refused
	// before anything runs.
	log = append(log[:2:2], simulate.Line{Op: "stop", Campaign: "nope", Num: 9})
	sim, _, err = simulate.Replay(resendSetup(), log, time.Time{})
	require.Nil(t, sim)
	require.ErrorIs(t, err, simulate.ErrScript)
	requireLine(t, err, 9, `op "stop" names campaign "nope", which the setup does not define`)

	// Lines built in Go are named by their place in the list.
	log = []simulate.Line{{Event: event.Event{UserID: "ann", Kind: event.EmailReceived, CampaignID: "newsletter"}}, {Op: "stop", Campaign: "nope"}}
	_, _, err = simulate.Replay(resendSetup(), log, time.Time{})
	requireLine(t, err, 2, `"nope"`)
}

// TestReadLogSaysWhatAnOpOrATimeMustBe: an unknown op lists the ops, and
// a time that does not parse names the form it must have.
func TestReadLogSaysWhatAnOpOrATimeMustBe(t *testing.T) {
	_, err := simulate.ReadLog(strings.NewReader(`{"op":"pubish","campaign":"resend"}`))
	requireLine(t, err, 1, `unknown op "pubish" (publish, stop, archive or advance`)
	_, err = simulate.ReadLog(strings.NewReader(`{"user_id":"ann","kind":"purchase","time":"2026-01-05 10:00:00"}`))
	requireLine(t, err, 1, `time "2026-01-05 10:00:00" is not in RFC 3339 form, such as "2026-01-05T10:00:00Z"`)
	_, err = simulate.ReadLog(strings.NewReader(`{"op":"advance","time":"tomorrow"}`))
	requireLine(t, err, 1, `time "tomorrow" is not in RFC 3339 form`)
}

func TestReadLogReadsLongLines(t *testing.T) {
	var b strings.Builder
	for i := range 5 {
		fmt.Fprintf(&b, "%s\n", received(fmt.Sprint("u", i), "2026-01-05T09:00:00Z"))
	}
	// Line 6 holds 2 MiB of properties, more than the engine's 16 KiB: it
	// is read, and the engine rejects it.
	fmt.Fprintf(&b, `{"user_id":"big","kind":"purchase","properties":{"blob":%q},"time":"2026-01-05T10:00:00Z"}`+"\n", strings.Repeat("a", 2<<20))
	b.WriteString(received("last", "2026-01-05T11:00:00Z")) // no final newline
	log, err := simulate.ReadLog(strings.NewReader(b.String()))
	require.NoError(t, err)
	require.Len(t, log, 7)
	require.Equal(t, 6, log[5].Num)
	require.Equal(t, "last", log[6].Event.UserID)

	_, rejected, err := simulate.Replay(resendSetup(), log, time.Time{})
	require.NoError(t, err)
	require.Len(t, rejected, 1)
	requireLine(t, rejected[0], 6, "properties")
	require.ErrorIs(t, rejected[0], event.ErrTooLarge)
}

func TestReadLogNamesTheLineOfAReadError(t *testing.T) {
	boom := errors.New("disk on fire")
	r := io.MultiReader(strings.NewReader(received("ann", "2026-01-05T09:00:00Z")+"\n"+`{"user_id":`), iotest.ErrReader(boom))
	_, err := simulate.ReadLog(r)
	require.ErrorIs(t, err, boom)
	require.ErrorIs(t, err, simulate.ErrScript)
	requireLine(t, err, 2, "reading")
}

func TestReadLogRefusesWhatItWouldNotApply(t *testing.T) {
	for _, c := range []struct{ line, want string }{
		{`{"user_id":"ann","kind":"purchase","tmie":"2026-01-01T09:00:00Z"}`, `unknown field "tmie" (did you mean "time"?) for an event`},
		{`{"user_id":"ann","kind":"purchase","Tmie":"x","usr_id":"b"}`, `unknown fields "Tmie" (did you mean "time"?), "usr_id" (did you mean "user_id"?)`},
		{`{"user_id":"ann","kind":"purchase","campaign":"resend"}`, `unknown field "campaign" (did you mean "campaign_id"?)`},
		{`{"op":"advance"}`, `op "advance" needs a time`},
		{`{"op":"advance","tiem":"2026-02-01T00:00:00Z"}`, `unknown field "tiem" for op "advance" (it takes time)`},
		{`{"op":"advance","campaign":"resend","time":"2026-02-01T00:00:00Z"}`, `unknown field "campaign" for op "advance"`},
		{`{"op":"publish","campaign":"resend","user_id":"bob"}`, `unknown field "user_id" for op "publish" (it takes campaign and time)`},
		{`{"op":"stop"}`, `op "stop" needs a campaign`},
		{`{"op":"teleport","campaign":"x"}`, `unknown op "teleport"`},
		{`null`, "not a JSON object"},
		{`[1]`, "cannot unmarshal array"},
		{`{"user_id":"ann","kind":"purchase","time":"2026-01-05"}`, "parsing time"},
	} {
		_, err := simulate.ReadLog(strings.NewReader("# one\n" + c.line + "\n"))
		require.ErrorIs(t, err, simulate.ErrScript, c.line)
		requireLine(t, err, 2, c.want)
	}
	// A field named twice, in two cases, is refused: which one counts
	// would depend on the order of decoding.
	_, err := simulate.ReadLog(strings.NewReader(`{"op":"publish","OP":"","campaign":"resend"}`))
	requireLine(t, err, 1, `fields "OP" and "op" are the same field`)
	// Names match as encoding/json matches them, which folds a long s
	// (U+017F) with s: it would decode "uſer_id" into the user too.
	_, err = simulate.ReadLog(strings.NewReader(`{"user_id":"ann","uſer_id":"bob","kind":"purchase"}`))
	requireLine(t, err, 1, `fields "user_id" and "uſer_id" are the same field`)

	// Other fields of an event line are ignored, as event.Event's JSON
	// form ignores them: a later version's, or the host's own (common
	// ones of providers' payloads included). An empty or null op is an
	// event line.
	log, err := simulate.ReadLog(strings.NewReader(`{"user_id":"ann","kind":"purchase","source":"sendgrid","id":"e1","ip":"10.0.0.1",` +
		`"user":"x","prop":1,"timestamp":1,"event":"open","email":"a@b","campaign_name":"n","sg_event_id":"s","type":"t"}` + "\n" +
		`{"op":"","user_id":"bob","kind":"purchase"}` + "\n" + `{"op":null,"user_id":"cid","kind":"purchase"}` + "\n"))
	require.NoError(t, err)
	require.Equal(t, []string{"ann", "bob", "cid"}, []string{log[0].Event.UserID, log[1].Event.UserID, log[2].Event.UserID})
	require.Equal(t, "e1", log[0].Event.ID)

	// Field names match without regard to case, as encoding/json has them.
	log, err = simulate.ReadLog(strings.NewReader(`{"User_ID":"ann","Kind":"purchase","TIME":"2026-01-06T09:00:00Z"}` + "\n" +
		`{"OP":"advance","Time":"2026-01-07T09:00:00Z"}` + "\n"))
	require.NoError(t, err)
	require.Equal(t, "ann", log[0].Event.UserID)
	require.Equal(t, t0.Add(24*time.Hour), log[0].Time)
	require.Equal(t, "advance", log[1].Op)
	require.Equal(t, t0.Add(48*time.Hour), log[1].Time)

	// Replay checks lines built in Go the same way, before running any.
	for _, c := range []struct {
		line simulate.Line
		want string
	}{
		{simulate.Line{Op: "teleport"}, `unknown op "teleport"`},
		{simulate.Line{Op: "advance"}, `op "advance" needs a time`},
		{simulate.Line{Op: "archive"}, `op "archive" needs a campaign`},
	} {
		sim, _, err := simulate.Replay(resendSetup(), []simulate.Line{{Op: "advance", Time: t0}, c.line}, time.Time{})
		require.Nil(t, sim)
		require.ErrorIs(t, err, simulate.ErrScript)
		requireLine(t, err, 2, c.want)
	}
}

func TestReplayRefusesTimesTheClockCannotReach(t *testing.T) {
	src := received("ann", "2026-01-05T09:00:00Z") + "\n" + received("bob", "2262-06-01T00:00:00Z") + "\n"
	_, err := simulate.ReadLog(strings.NewReader(src))
	require.ErrorIs(t, err, store.ErrTimeRange)
	requireLine(t, err, 2, "2262-06-01T00:00:00Z is after 2262-04-11T23:47:16Z")

	far := time.Date(9000, 1, 1, 0, 0, 0, 0, time.UTC)
	log := []simulate.Line{{Op: "advance", Time: t0.Add(time.Hour)}, {Op: "advance", Time: far}}
	sim, _, err := simulate.Replay(resendSetup(), log, time.Time{})
	require.Nil(t, sim)
	require.ErrorIs(t, err, store.ErrTimeRange)
	requireLine(t, err, 2, "9000-01-01T00:00:00Z")

	sim, _, err = simulate.Replay(resendSetup(), nil, far)
	require.Nil(t, sim)
	require.ErrorIs(t, err, store.ErrTimeRange)
	require.ErrorContains(t, err, "until 9000-01-01T00:00:00Z")

	// Near the end of the range, the default until stops at its end, and
	// what falls due on the way is sent.
	late := time.Date(2262, 3, 30, 9, 0, 0, 0, time.UTC)
	log = []simulate.Line{{Time: late, Event: event.Event{UserID: "ann", Kind: event.EmailReceived, CampaignID: "newsletter", Time: late}}}
	sim, rejected, err := simulate.Replay(resendSetup(), log, time.Time{})
	require.NoError(t, err)
	require.Empty(t, rejected)
	require.Len(t, sim.Sent(), 1)
	require.Equal(t, time.Unix(0, 1<<63-1).UTC(), sim.Now())
}

func TestReplayRequiresAStart(t *testing.T) {
	setup := resendSetup()
	setup.Start = time.Time{}
	log := []simulate.Line{{Event: event.Event{UserID: "ann", Kind: event.EmailReceived, CampaignID: "newsletter"}}}
	sim, _, err := simulate.Replay(setup, log, time.Time{})
	require.Nil(t, sim)
	require.ErrorIs(t, err, simulate.ErrScript)
	require.ErrorContains(t, err, "setup: start is required")

	setup.Start = time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC)
	sim, _, err = simulate.Replay(setup, log, time.Time{})
	require.Nil(t, sim)
	require.ErrorIs(t, err, simulate.ErrScript)
	require.ErrorIs(t, err, store.ErrTimeRange)
	require.ErrorContains(t, err, "setup: start 1600-01-01T00:00:00Z")
}

// Late lines are part of the format: an event stamped before the clock is
// tracked late, an operation happens now, and an advance does nothing.
func TestReplayAppliesLateLinesNow(t *testing.T) {
	src := received("ann", "2026-01-05T12:00:00Z") + "\n" +
		`{"user_id":"ann","kind":"email_opened","campaign_id":"newsletter","time":"2026-01-05T10:00:00Z"}` + "\n" +
		`{"op":"advance","time":"2026-01-05T11:00:00Z"}` + "\n" +
		`{"op":"stop","campaign":"resend","time":"2026-01-05T08:00:00Z"}` + "\n" +
		received("bob", "2026-01-05T11:30:00Z") + "\n"
	log, err := simulate.ReadLog(strings.NewReader(src))
	require.NoError(t, err)
	sim, rejected, err := simulate.Replay(resendSetup(), log, t0.Add(7*24*time.Hour))
	require.NoError(t, err)
	require.Empty(t, rejected)
	require.Empty(t, sim.Sent())
	var kinds []string
	for _, d := range sim.Decisions() {
		if d.Kind != rule.Applied {
			kinds = append(kinds, fmt.Sprint(d.At.Format("15:04"), " ", d.Kind, " ", d.UserID))
		}
	}
	// ann's open, stamped before her receipt, cancels the resend at once;
	// the stop at 12:00 leaves bob's receipt nothing to schedule.
	require.Contains(t, kinds, "12:00 cancelled ann")
	require.NotContains(t, strings.Join(kinds, "\n"), "bob")
}

// TestReadSetupSaysWhere: a setup error names the campaign whose
// definition is wrong (its place and ID), and the line and column of a
// syntax error.
func TestReadSetupSaysWhere(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{`{"start": "2026-01-05T00:00:00Z",
 "campaigns": [
   {"id": "newsletter"},
   {"id": "resend", "trigers": []}
 ]}`, `setup: campaigns[1] (id "resend"): rule: campaign: unknown field "trigers"`},
		{`{"start": "2026-01-05T00:00:00Z",
 "campaigns": [
   {"id": "newsletter",}
 ]}`, `setup: line 3, column 24: invalid character '}'`},
		{`{"start": "2026-01-05T00:00:00Z", "campains": []}`, `setup: json: unknown field "campains"`},
		{`{"campaigns": []}`, `setup: start is required`},
		{`{"start": "2026-01-05T00:00:00Z"} {}`, `setup: line 1, column 35: text after the JSON value`},
		{"{\"start\": \"2026-01-05T00:00:00Z\"}\n}", `setup: line 2, column 1: text after the JSON value`},
		{`{"start": "2026-01-05T00:00:00Z", "campaigns": [{"id": "a", "delay": {"after": 5}}]}`, `setup: campaigns[0] (id "a"): rule: campaign: delay`},
	} {
		_, err := simulate.ReadSetup(strings.NewReader(tc.src))
		require.ErrorIs(t, err, simulate.ErrScript)
		require.ErrorContains(t, err, tc.want)
	}
	_, err := simulate.ReadSetup(strings.NewReader("{\"start\": \"2026-01-05T00:00:00Z\",\n \"publish\": 5}"))
	var le *simulate.LineError
	require.ErrorAs(t, err, &le, "a type error's place is a LineError")
	require.Equal(t, [2]int{2, 13}, [2]int{le.Line, le.Column})
	s, err := simulate.ReadSetup(strings.NewReader(`{"start": "2026-01-05T00:00:00Z", "campaigns": [{"id": "a"}, {"id": "b"}], "publish": ["a"]}`))
	require.NoError(t, err)
	require.Equal(t, []string{"a", "b"}, []string{s.Campaigns[0].ID, s.Campaigns[1].ID})
	require.Equal(t, []string{"a"}, s.Publish)
}

// A replay in which no follow-up is ever published would run every line
// and report nothing: saved campaigns are drafts. It is refused before
// anything runs, and a publish line of the log counts.
func TestReplayRefusesASetupThatPublishesNoFollowUp(t *testing.T) {
	log := []simulate.Line{{Event: event.Event{UserID: "ann", Kind: event.EmailReceived, CampaignID: "newsletter"}}}
	setup := resendSetup()
	setup.Publish = []string{"newsletter"} // the original alone
	sim, _, err := simulate.Replay(setup, log, time.Time{})
	require.Nil(t, sim)
	require.ErrorIs(t, err, simulate.ErrScript)
	require.ErrorContains(t, err, `setup: no follow-up is published, at the start or by a line of the log (["resend"])`)

	withPublish := append([]simulate.Line{{Op: "publish", Campaign: "resend"}}, log...)
	sim, _, err = simulate.Replay(setup, withPublish, time.Time{})
	require.NoError(t, err)
	require.NotEmpty(t, sim.Decisions(), "a follow-up published by a line decides")

	setup.Campaigns = []rule.Campaign{{ID: "newsletter"}}
	_, _, err = simulate.Replay(setup, log, time.Time{})
	require.ErrorIs(t, err, simulate.ErrScript)
	require.ErrorContains(t, err, "no campaign of the setup has triggers")
}

// A setup that defines a campaign twice (a copy left behind by an edit) is
// refused, as Apply refuses such a set, instead of replaying the later
// definition alone: here a resend an hour after the newsletter in place of
// a day after it.
func TestReplayRefusesACampaignDefinedTwice(t *testing.T) {
	setup := resendSetup()
	hourly := setup.Campaigns[1]
	hourly.Delay = rule.After(time.Hour)
	setup.Campaigns = append(setup.Campaigns, hourly)
	log := []simulate.Line{{Event: event.Event{ID: "e1", UserID: "ann", Kind: event.EmailReceived, CampaignID: "newsletter"}}}
	sim, rejected, err := simulate.Replay(setup, log, time.Time{})
	require.Nil(t, sim)
	require.Empty(t, rejected)
	require.ErrorIs(t, err, simulate.ErrScript)
	require.EqualError(t, err, `simulate: bad script: setup: campaigns[2] (id "resend"): campaigns[1] has that ID already: the replay would run the later definition alone`)

	live, err := simulate.New(t0)
	require.NoError(t, err)
	require.ErrorContains(t, live.Apply(setup.Campaigns...), "the set holds it more than once", "Apply refuses the same set")
}
