package connectortest_test

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/connectortest"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/stretchr/testify/require"
)

// fakeTB records a helper's failure instead of failing the test: Fatalf
// ends the helper's goroutine like the real one does. It also records the
// harness's functions that logged or failed without marking themselves
// as helpers (unmarked), which testing would then name as the line of the
// message instead of the test's own.
type fakeTB struct {
	testing.TB
	failed   bool
	msg      string
	logs     []string
	helpers  map[string]bool
	unmarked []string
}

// unmarkedMsg explains a non-empty fakeTB.unmarked.
const unmarkedMsg = "harness functions that logged or failed without calling Helper: the message names their line, not the test's"

// harnessPkg prefixes the names of the harness package's functions.
const harnessPkg = "github.com/campaignconnector/campaignconnector/connectortest."

func (f *fakeTB) Helper() {
	pc, _, _, _ := runtime.Caller(1)
	if f.helpers == nil {
		f.helpers = map[string]bool{}
	}
	f.helpers[runtime.FuncForPC(pc).Name()] = true
}

// checkHelpers records the harness's functions on the stack of a Logf or
// a Fatalf, up to the test's own, that did not call Helper.
func (f *fakeTB) checkHelpers() {
	pcs := make([]uintptr, 32)
	frames := runtime.CallersFrames(pcs[:runtime.Callers(3, pcs)])
	for {
		fr, more := frames.Next()
		if !strings.HasPrefix(fr.Function, harnessPkg) {
			return // the test's own frame: testing reports this line
		}
		if !f.helpers[fr.Function] {
			f.unmarked = append(f.unmarked, fr.Function)
		}
		if !more {
			return
		}
	}
}

func (f *fakeTB) Logf(format string, args ...any) {
	f.checkHelpers()
	f.logs = append(f.logs, fmt.Sprintf(format, args...))
}

func (f *fakeTB) Fatalf(format string, args ...any) {
	f.checkHelpers()
	f.failed, f.msg = true, fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// outcome runs fn against a fresh harness (built with opts) on a fake TB,
// after setup ran on it, and returns what the fake recorded. Every
// harness function that logged or failed on the way must have marked
// itself as a helper: t fails otherwise.
func outcome(t testing.TB, setup func(h *connectortest.Harness), fn func(h *connectortest.Harness), opts ...connector.Option) *fakeTB {
	t.Helper()
	f := &fakeTB{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		h := connectortest.New(f, opts...)
		if setup != nil {
			setup(h)
		}
		fn(h)
	}()
	<-done
	if len(f.unmarked) > 0 {
		t.Errorf("%s: %q", unmarkedMsg, f.unmarked)
	}
	return f
}

func resendScenario(h *connectortest.Harness) {
	h.Save(rule.Campaign{ID: "newsletter"}, rule.Campaign{
		ID:         "resend",
		Triggers:   []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "newsletter"}},
		Delay:      rule.After(24 * time.Hour),
		Exceptions: []rule.Exception{{Kind: event.EmailOpened, CampaignID: "newsletter"}},
	})
	h.Publish("resend", "newsletter")
	h.Track(event.Event{UserID: "ann", Kind: event.EmailReceived, CampaignID: "newsletter"},
		event.Event{UserID: "bob", Kind: event.EmailReceived, CampaignID: "newsletter"})
	h.Advance(time.Hour)
	h.Track(event.Event{UserID: "bob", Kind: event.EmailOpened, CampaignID: "newsletter"})
	h.Advance(24 * time.Hour)
}

func TestAssertionsPassAndFail(t *testing.T) {
	cases := []struct {
		name     string
		fn       func(h *connectortest.Harness)
		fails    bool
		contains []string
	}{
		{"RequireSent passes", func(h *connectortest.Harness) { h.RequireSent("ann", "resend") }, false, nil},
		{"RequireSent fails with the timeline", func(h *connectortest.Harness) { h.RequireSent("bob", "resend") }, true,
			[]string{`want "resend" delivered to "bob" once, got 0 times`, "timeline:", "cancelled resend user=bob"}},
		{"RequireSentAt passes", func(h *connectortest.Harness) {
			h.RequireSentAt("ann", "resend", connectortest.Start.Add(24*time.Hour))
		}, false, nil},
		{"RequireSentAt fails on the time", func(h *connectortest.Harness) {
			h.RequireSentAt("ann", "resend", connectortest.Start)
		}, true, []string{"at 2026-01-05T00:00:00Z, got 2026-01-06T00:00:00Z"}},
		{"RequireNotSent passes", func(h *connectortest.Harness) { h.RequireNotSent("bob", "resend") }, false, nil},
		{"RequireNotSent fails", func(h *connectortest.Harness) { h.RequireNotSent("ann", "resend") }, true,
			[]string{`want "resend" never delivered to "ann", got 1 delivery`}},
		{"RequireReason passes", func(h *connectortest.Harness) {
			h.RequireReason("bob", "resend", rule.Cancelled, rule.ReasonException)
		}, false, nil},
		{"RequireReason fails", func(h *connectortest.Harness) {
			h.RequireReason("ann", "resend", rule.Cancelled, rule.ReasonException)
		}, true, []string{"want a cancelled (exception) decision"}},
		{"RequireNoReason fails", func(h *connectortest.Harness) { h.RequireNoReason("bob", "resend", rule.Cancelled, "") }, true,
			[]string{"want no cancelled decision"}},
		{"RequireNoReason fails on the reason it names", func(h *connectortest.Harness) {
			h.RequireNoReason("bob", "resend", rule.Cancelled, rule.ReasonException)
		}, true, []string{"want no cancelled (exception) decision"}},
		{"RequireNoReason passes on another reason", func(h *connectortest.Harness) {
			h.RequireNoReason("bob", "resend", rule.Cancelled, rule.ReasonCampaignStopped)
		}, false, nil},
		{"RequireNoReason refuses an empty kind, which matches nothing", func(h *connectortest.Harness) {
			h.RequireNoReason("ann", "resend", "", "")
		}, true, []string{`"" is no decision kind`, `call RequireKinds("ann", "resend") with no kinds`}},
		{"RequireNoReason refuses a made-up kind", func(h *connectortest.Harness) {
			h.RequireNoReason("ann", "resend", "deliverd", "")
		}, true, []string{`"deliverd" is no decision kind`}},
		{"RequireKinds passes", func(h *connectortest.Harness) {
			h.RequireKinds("bob", "resend", "scheduled", "cancelled/exception")
		}, false, nil},
		{"RequireKinds fails", func(h *connectortest.Harness) { h.RequireKinds("ann", "resend", "scheduled") }, true,
			[]string{"want [scheduled]", "got [scheduled delivered]"}},
		{"RequireSentTimes fails", func(h *connectortest.Harness) { h.RequireSentTimes("ann", "resend", 2) }, true,
			[]string{"2 times, got 1"}},
		{"RequireNothingSent fails", func(h *connectortest.Harness) { h.RequireNothingSent() }, true, []string{"want no delivery, got 1"}},
		{"Advance refuses to go back", func(h *connectortest.Harness) { h.Advance(-time.Second) }, true, []string{"time cannot go back"}},
		{"Save fails on an invalid campaign", func(h *connectortest.Harness) {
			h.Save(rule.Campaign{ID: "x", Triggers: []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "x"}}})
		}, true, []string{`Save("x")`, "cannot trigger on itself"}},
		{"Track fails on an invalid event", func(h *connectortest.Harness) { h.Track(event.Event{Kind: event.EmailOpened}) }, true,
			[]string{"user_id: required"}},
		{"Publish fails on an unknown campaign", func(h *connectortest.Harness) { h.Publish("nope") }, true,
			[]string{`Publish("nope")`, "unknown campaign"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := outcome(t, resendScenario, tc.fn)
			require.Equal(t, tc.fails, f.failed, f.msg)
			for _, s := range tc.contains {
				require.Contains(t, f.msg, s)
			}
		})
	}
}

// A misspelt campaign or user in an assertion that expects something
// fails it like a missing delivery would: the failure says the ID is
// unknown, so that the test's author looks at the assertion, not at the
// campaign.
func TestAFailureNamesAnUnknownCampaignOrUser(t *testing.T) {
	for _, tc := range []struct {
		name      string
		fn        func(h *connectortest.Harness)
		want, not string
	}{
		{"RequireSent, campaign", func(h *connectortest.Harness) { h.RequireSent("ann", "resnd") },
			`no campaign "resnd" is saved (the engine knows "newsletter", "resend"): a misspelt ID?`, "no decision concerns"},
		{"RequireReason, campaign", func(h *connectortest.Harness) { h.RequireReason("bob", "resnd", rule.Cancelled, "") },
			`no campaign "resnd" is saved`, "no decision concerns"},
		{"RequireKinds, campaign", func(h *connectortest.Harness) { h.RequireKinds("bob", "resnd", "scheduled") },
			`no campaign "resnd" is saved`, "no decision concerns"},
		{"RequireSentTimes, user", func(h *connectortest.Harness) { h.RequireSentTimes("an", "resend", 1) },
			`no decision concerns user "an": a misspelt ID, or none of the user's events reached a follow-up`, "no campaign"},
		{"RequireSentAt, user", func(h *connectortest.Harness) { h.RequireSentAt("an", "resend", connectortest.Start) },
			`no decision concerns user "an"`, "no campaign"},
		{"known IDs", func(h *connectortest.Harness) { h.RequireSent("bob", "resend") },
			"", "misspelt ID"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := outcome(t, resendScenario, tc.fn)
			require.True(t, f.failed)
			require.Contains(t, f.msg, tc.want)
			require.NotContains(t, f.msg, tc.not)
		})
	}
}

func TestTimelineWithoutDecisions(t *testing.T) {
	h := connectortest.New(t)
	require.Equal(t, "timeline:\n  (no decisions)\n", h.Timeline())
}

func TestAFailureNamesADeliveryDueButNeverTicked(t *testing.T) {
	coupon := func(h *connectortest.Harness) {
		h.Save(rule.Campaign{ID: "cart"}, rule.Campaign{ID: "coupon", Triggers: []rule.Trigger{{Kind: event.PushOpened, CampaignID: "cart"}}})
		h.Publish("coupon", "cart")
		h.Track(event.Event{UserID: "ann", Kind: event.PushOpened, CampaignID: "cart"}) // due at once: no Tick yet
	}
	const hint = "but nothing ticked: call h.Advance or h.Tick"
	for _, tc := range []struct {
		name string
		fn   func(h *connectortest.Harness)
	}{
		{"RequireSent", func(h *connectortest.Harness) { h.RequireSent("ann", "coupon") }},
		{"RequireSentAt", func(h *connectortest.Harness) { h.RequireSentAt("ann", "coupon", connectortest.Start) }},
		{"RequireSentTimes", func(h *connectortest.Harness) { h.RequireSentTimes("ann", "coupon", 1) }},
		{"RequireReason", func(h *connectortest.Harness) { h.RequireReason("ann", "coupon", rule.Delivered, "") }},
		{"RequireKinds", func(h *connectortest.Harness) { h.RequireKinds("ann", "coupon", "scheduled", "delivered") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := outcome(t, coupon, tc.fn)
			require.True(t, f.failed)
			require.Regexp(t, `delivery \S+ was due at 2026-01-05T00:00:00Z `+hint, f.msg)
		})
	}
	t.Run("a delivery whose time has not come is not named", func(t *testing.T) {
		f := outcome(t, func(h *connectortest.Harness) {
			h.Save(resendCampaignsForTest()...)
			h.Publish("resend", "newsletter")
			h.Track(event.Event{UserID: "ann", Kind: event.EmailReceived, CampaignID: "newsletter"})
			h.Clock.Add(time.Hour)
		}, func(h *connectortest.Harness) { h.RequireSent("ann", "resend") })
		require.True(t, f.failed)
		require.NotContains(t, f.msg, hint)
	})
	t.Run("a clock moved by hand past the due time", func(t *testing.T) {
		f := outcome(t, func(h *connectortest.Harness) {
			h.Save(resendCampaignsForTest()...)
			h.Publish("resend", "newsletter")
			h.Track(event.Event{UserID: "ann", Kind: event.EmailReceived, CampaignID: "newsletter"})
			h.Clock.Add(25 * time.Hour)
		}, func(h *connectortest.Harness) { h.RequireSent("ann", "resend") })
		require.True(t, f.failed)
		require.Contains(t, f.msg, "was due at 2026-01-06T00:00:00Z "+hint)
	})
	t.Run("a delivery whose time has not come is named with the clock", func(t *testing.T) {
		f := outcome(t, func(h *connectortest.Harness) {
			h.Apply(resendCampaignsForTest()...)
			h.Track(event.Event{UserID: "ann", Kind: event.EmailReceived, CampaignID: "newsletter"})
			h.Advance(20 * time.Hour)
		}, func(h *connectortest.Harness) {
			h.RequireSentAt("ann", "resend", connectortest.Start.Add(24*time.Hour))
		})
		require.True(t, f.failed)
		require.Regexp(t, `delivery \S+ is still waiting, due at 2026-01-06T00:00:00Z: `+
			`the clock is at 2026-01-05T20:00:00Z; advance it by 4h0m0s to get there\n`, f.msg)
	})
	t.Run("ticked: passes", func(t *testing.T) {
		f := outcome(t, coupon, func(h *connectortest.Harness) { h.Tick(); h.RequireSent("ann", "coupon") })
		require.False(t, f.failed, f.msg)
	})
}

func resendCampaignsForTest() []rule.Campaign {
	return []rule.Campaign{{ID: "newsletter"}, {
		ID:         "resend",
		Triggers:   []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "newsletter"}},
		Delay:      rule.After(24 * time.Hour),
		Exceptions: []rule.Exception{{Kind: event.EmailOpened, CampaignID: "newsletter"}},
	}}
}

func TestApplyPublishesTheSet(t *testing.T) {
	h := connectortest.New(t)
	h.Apply(resendCampaignsForTest()...)
	h.Apply(resendCampaignsForTest()...) // again, as at every start: changes nothing
	h.Track(event.Event{UserID: "ann", Kind: event.EmailReceived, CampaignID: "newsletter"})
	h.Advance(24 * time.Hour)
	h.RequireSent("ann", "resend")
}

func TestApplyFailsTheTestOnABadSet(t *testing.T) {
	f := outcome(t, nil, func(h *connectortest.Harness) {
		h.Apply(rule.Campaign{ID: "resend", Triggers: []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "newsleter"}}})
	})
	require.True(t, f.failed)
	require.Contains(t, f.msg, `connectortest: Apply: connector: campaign "resend": triggers[0].campaign_id: campaign "newsleter" is not known`)
}

// Each of the harness's functions that fails the test marks itself as a
// helper, so that the failure names the test's line: outcome checks it.
func TestAFailingHarnessCallMarksItselfAHelper(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []connector.Option
		fn   func(h *connectortest.Harness)
		want string
	}{
		{"New", []connector.Option{connector.WithLimits(event.Limits{MaxIDLength: -1})}, func(*connectortest.Harness) {}, "connectortest: connector.New: "},
		{"Stop", nil, func(h *connectortest.Harness) { h.Stop("nope") }, `connectortest: Stop("nope"): `},
		{"Archive", nil, func(h *connectortest.Harness) { h.Archive("nope") }, `connectortest: Archive("nope"): `},
		{"AdvanceTo", nil, func(h *connectortest.Harness) { h.AdvanceTo(connectortest.Start.Add(-time.Hour)) }, "connectortest: AdvanceTo("},
		{"MoveTo", nil, func(h *connectortest.Harness) { h.MoveTo(connectortest.Start.Add(-time.Hour)) }, "connectortest: MoveTo("},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := outcome(t, nil, tc.fn, tc.opts...)
			require.True(t, f.failed)
			require.Contains(t, f.msg, tc.want)
		})
	}
}

// TestTimelineSumsUpApply: Apply's decisions, about campaigns and no
// user, take one line per run in the timeline a failing assertion prints;
// the decisions about users keep a line each.
func TestTimelineSumsUpApply(t *testing.T) {
	h := connectortest.New(t)
	h.Apply(resendCampaignsForTest()...)
	h.Track(event.Event{UserID: "ann", Kind: event.EmailReceived, CampaignID: "newsletter"})
	h.Advance(time.Hour)
	h.Apply(resendCampaignsForTest()[0]) // resend and newsletter unchanged: no decision
	edited := resendCampaignsForTest()
	edited[1].Delay = rule.After(48 * time.Hour)
	h.Apply(edited...)
	require.Equal(t, "timeline:\n"+
		"  2026-01-05T00:00:00Z applied: created 2, published 2 (newsletter, resend)\n"+
		"  2026-01-05T00:00:00Z scheduled resend user=ann due=2026-01-06T00:00:00Z (email_received of \"newsletter\")\n"+
		"  2026-01-05T01:00:00Z applied: edited 1 (resend)\n"+
		"    resend: delay after 24h0m0s → after 48h0m0s\n",
		h.Timeline())
}

// An Apply at a later time, with no decision between, takes a line of
// its own, with its own time: a run of applied decisions shows one time.
func TestTimelineDatesEachApply(t *testing.T) {
	h := connectortest.New(t)
	h.Apply(resendCampaignsForTest()...)
	h.Advance(time.Hour)
	edited := resendCampaignsForTest()
	edited[1].Delay = rule.After(48 * time.Hour)
	h.Apply(edited...)
	require.Equal(t, "timeline:\n"+
		"  2026-01-05T00:00:00Z applied: created 2, published 2 (newsletter, resend)\n"+
		"  2026-01-05T01:00:00Z applied: edited 1 (resend)\n"+
		"    resend: delay after 24h0m0s → after 48h0m0s\n",
		h.Timeline())
}

// TestAdvanceSendsEachAtItsDueTime: a delivery suppressed at send time does
// not move the clock past the next one, due half a millisecond later; and
// a failure shows times to the nanosecond.
func TestAdvanceSendsEachAtItsDueTime(t *testing.T) {
	h := connectortest.New(t, connector.WithFrequencyCaps(connector.FrequencyCap{Max: 1, Window: 24 * time.Hour}))
	after := func(id string, d time.Duration) rule.Campaign {
		return rule.Campaign{ID: id, Delay: rule.After(d), Triggers: []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "o"}}}
	}
	first, capped, next := after("first", time.Hour), after("capped", 2*time.Hour), after("next", 2*time.Hour+500*time.Microsecond)
	next.IgnoreFrequencyCaps = true
	h.Apply(rule.Campaign{ID: "o"}, first, capped, next)
	h.Track(event.Event{UserID: "u", Kind: event.EmailReceived, CampaignID: "o"})
	h.Advance(24 * time.Hour)
	h.RequireReason("u", "capped", rule.Suppressed, rule.ReasonFrequencyCapped)
	h.RequireSentAt("u", "next", connectortest.Start.Add(2*time.Hour+500*time.Microsecond))

	f := outcome(t, func(h *connectortest.Harness) {
		h.Apply(rule.Campaign{ID: "o"}, after("f", time.Hour))
		h.Track(event.Event{UserID: "u", Kind: event.EmailReceived, CampaignID: "o"})
		h.Advance(2 * time.Hour)
	}, func(h *connectortest.Harness) {
		h.RequireSentAt("u", "f", connectortest.Start.Add(time.Hour+time.Nanosecond))
	})
	require.True(t, f.failed)
	require.Contains(t, f.msg, "01:00:00.000000001Z, got")
}

// TestABacklogIsSentInDueOrder: more deliveries due at once than one claim
// takes (700 receipts reported two days late, a minute apart) are still
// sent in due order, as the harness promises.
func TestABacklogIsSentInDueOrder(t *testing.T) {
	h := connectortest.New(t)
	h.Apply(rule.Campaign{ID: "newsletter"}, rule.Campaign{ID: "resend",
		Triggers: []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "newsletter"}}, Delay: rule.After(24 * time.Hour)})
	h.Clock.Set(connectortest.Start.Add(72 * time.Hour))
	for i := range 700 {
		h.TrackAt(connectortest.Start.Add(time.Duration(i)*time.Minute),
			event.Event{UserID: fmt.Sprintf("user-%03d", (i*37)%700), Kind: event.EmailReceived, CampaignID: "newsletter"})
	}
	h.Advance(time.Minute)
	sent := h.Sent()
	require.Len(t, sent, 700)
	for i := 1; i < len(sent); i++ {
		require.False(t, sent[i].DueAt.Before(sent[i-1].DueAt), "delivery %d (%s, due %s) sent after %d (%s, due %s)",
			i, sent[i].UserID, sent[i].DueAt, i-1, sent[i-1].UserID, sent[i-1].DueAt)
	}
}

// TestExplainSaysWhy: the harness's Explain gives the engine's
// explanation from its decision log.
func TestExplainSaysWhy(t *testing.T) {
	h := connectortest.New(t)
	resendScenario(h)
	x := h.Explain("bob", "resend")
	require.Len(t, x.Decisions, 2, x.String())
	require.Equal(t, rule.Scheduled, x.Decisions[0].Kind)
	require.Equal(t, rule.Cancelled, x.Decisions[1].Kind)
	require.Contains(t, x.String(), "cancelled by the exception email_opened")
	require.Empty(t, x.Pending)
	require.Equal(t, rule.Delivered, h.Explain("ann", "resend").Decisions[1].Kind)
}

// A failure that expected a delivery names the pair's last decision
// when nothing waits: in a long timeline, the line that says why not.
func TestAFailureNamesThePairsLastDecision(t *testing.T) {
	f := outcome(t, resendScenario, func(h *connectortest.Harness) { h.RequireSent("bob", "resend") })
	require.True(t, f.failed)
	require.Contains(t, f.msg, "got 0 times\n"+`the last decision about "bob" and "resend": `+
		`2026-01-05T01:00:00Z cancelled resend user=bob due=2026-01-06T00:00:00Z (exception: email_opened of "newsletter"`)

	f = outcome(t, resendScenario, func(h *connectortest.Harness) { h.RequireSentTimes("ann", "resend", 2) })
	require.Contains(t, f.msg, `the last decision about "ann" and "resend": 2026-01-06T00:00:00Z delivered resend`)
}

// Explain about a campaign no one saved says so in the test's log, naming
// those saved: its "no decision recorded" would read like a user nothing
// triggered. It does not fail the test, as RequireNotSent does not.
func TestExplainLogsAnUnknownCampaign(t *testing.T) {
	f := outcome(t, resendScenario, func(h *connectortest.Harness) { h.Explain("bob", "resnd") })
	require.False(t, f.failed, f.msg)
	require.Equal(t, []string{`connectortest: Explain("bob", "resnd"): no campaign "resnd" is saved ` +
		`(the engine knows "newsletter", "resend"): a misspelt ID?`}, f.logs)

	f = outcome(t, resendScenario, func(h *connectortest.Harness) { h.Explain("nobody", "resend") })
	require.False(t, f.failed, f.msg)
	require.Empty(t, f.logs, "a user nothing triggered has a campaign to explain")
}

// An assertion that something did not happen (RequireKinds with no kinds
// among them) passes about any campaign, a misspelt one too; about a
// campaign no one saved it says so in the test's log, without failing.
func TestANegativeAssertionOnAnUnknownCampaignLogsIt(t *testing.T) {
	for _, tc := range []struct {
		name string
		fn   func(h *connectortest.Harness)
		log  string
	}{
		{"RequireNotSent", func(h *connectortest.Harness) { h.RequireNotSent("bob", "resnd") },
			`connectortest: RequireNotSent passes, but no campaign "resnd" is saved (the engine knows "newsletter", "resend"): a misspelt ID?`},
		{"RequireNoReason", func(h *connectortest.Harness) { h.RequireNoReason("ann", "resnd", rule.Cancelled, "") },
			`connectortest: RequireNoReason passes, but no campaign "resnd" is saved`},
		{"RequireKinds with no kinds", func(h *connectortest.Harness) { h.RequireKinds("ann", "resnd") },
			`connectortest: RequireKinds passes, but no campaign "resnd" is saved`},
		{"known campaign", func(h *connectortest.Harness) { h.RequireNotSent("bob", "resend") }, ""},
		{"known campaign, unknown user", func(h *connectortest.Harness) { h.RequireNotSent("nobody", "resend") }, ""},
		{"RequireKinds with no kinds, known campaign", func(h *connectortest.Harness) { h.RequireKinds("nobody", "resend") }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := outcome(t, resendScenario, tc.fn)
			require.False(t, f.failed, f.msg)
			if tc.log == "" {
				require.Empty(t, f.logs)
				return
			}
			require.Len(t, f.logs, 1)
			require.Contains(t, f.logs[0], tc.log)
		})
	}
}
