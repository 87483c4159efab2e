package main

import (
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/campaignconnector/campaignconnector/bench/internal/cputime"
	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
)

// oneUserFlow is a flow that lets one user pile up pending deliveries:
// every push the user receives schedules a reminder after delay, however
// many are waiting (AllowParallel); a newsletter open schedules another
// follow-up, which a session start cancels.
func oneUserFlow(delay time.Duration) []rule.Campaign {
	return []rule.Campaign{
		{ID: "abandoned_cart"},
		{ID: "newsletter"},
		{ID: "parallel_reminder", Reeligibility: rule.ReeligibleAfter(0), PendingPolicy: rule.AllowParallel,
			Triggers: []rule.Trigger{{Kind: event.PushReceived, CampaignID: "abandoned_cart"}},
			Delay:    rule.After(delay)},
		{ID: "newsletter_followup", Reeligibility: rule.ReeligibleAfter(0),
			Triggers:   []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "newsletter"}},
			Delay:      rule.After(time.Hour),
			Exceptions: []rule.Exception{{Kind: event.SessionStart}}},
	}
}

// oneUser is the user of the one-user cases.
const oneUser = "usr_7Hq2mXc91LpZ0aTfRw4k"

// pileUp tracks n pushes for oneUser, each with its own event ID.
func pileUp(b *testing.B, e *connector.Engine, src *source, n int) {
	for range n {
		track(b, e, src.event(oneUser, event.PushReceived, "abandoned_cart"))
	}
}

// oneUserTrack measures one Track for a user holding n pending
// deliveries: a session start, which the engine checks against every one
// of them (it cancels none) under the user's lock.
func oneUserTrack(n int) func(b *testing.B) {
	return func(b *testing.B) {
		e, _ := newEngineWith(b, clock.New(), oneUserFlow(4*time.Hour), 0, noop)
		src := &source{ids: true}
		pileUp(b, e, src, n)
		b.ReportAllocs()
		c := cputime.Self()
		for b.Loop() {
			track(b, e, src.event(oneUser, event.SessionStart, ""))
		}
		b.ReportMetric(float64((cputime.Self()-c).Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}

// oneUserSend measures sending all of one user's n pending deliveries,
// due at once, with Tick: ns/delivery is the send phase's time per
// delivery (cpu-ns/delivery its CPU time); each delivery is two updates of
// that user (confirmed, then recorded).
func oneUserSend(n int) func(b *testing.B) {
	return func(b *testing.B) {
		var elapsed, cpu time.Duration
		sent := 0
		for b.Loop() {
			b.StopTimer()
			e, _ := newEngineWith(b, clock.New(), oneUserFlow(0), 0, noop)
			pileUp(b, e, &source{ids: true}, n)
			b.StartTimer()
			timed(&elapsed, &cpu, func() {
				for {
					k, err := e.Tick(ctx)
					if err != nil {
						b.Fatal(err)
					}
					sent += k
					if k == 0 {
						break
					}
				}
			})
		}
		if sent != n*b.N {
			b.Fatalf("sent %d, want %d", sent, n*b.N)
		}
		b.ReportMetric(float64(elapsed.Nanoseconds())/float64(sent), "ns/delivery")
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(sent), "cpu-ns/delivery")
	}
}
