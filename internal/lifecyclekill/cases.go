package lifecyclekill

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// CrashDuringApply checks that a process killed during Apply (from an
// empty store, or applying the next version of the set with StopOthers)
// leaves no campaign it made active with a follow-up of the set still a
// draft; the restart's Apply brings the store to its set, cancels what
// the campaigns it stops had pending, and the follow-ups work.
func CrashDuringApply(t *testing.T, newDB NewDatabase) {
	for _, v := range []struct {
		change   string
		setUp    bool
		set      []rule.Campaign
		restarts []restartWith
	}{
		{"apply-v1", false, setV1(), []restartWith{{setV1(), false, false}, {setV1(), true, false}, {setV2(), false, true}}},
		{"apply-v2", true, setV2(), []restartWith{{setV2(), false, true}, {setV2(), true, true}, {setV1(), false, false}}},
	} {
		t.Run(v.change, func(t *testing.T) {
			at := t0.Add(10 * time.Minute)
			for i, n := range killPoints(t, newDB, v.change, at, v.setUp) {
				r := v.restarts[i%len(v.restarts)]
				t.Run(fmt.Sprintf("after write %d, restart with %v", n, r), func(t *testing.T) {
					h := newHarness(t, newDB)
					if v.setUp {
						h.setUp()
					}
					if _, killed, _ := h.crash(v.change, n, at); !killed {
						t.Skipf("the change ended before write %d", n)
					}
					h.requireNoDraftFollowUps(h.states(h.engine()), v.set)
					h.clk.Set(t0.Add(15 * time.Minute))
					e := h.restart(r.set, r.keep, r.others)
					ctx := context.Background()
					require.NoError(t, e.Track(ctx, event.Event{ID: "fresh", UserID: "fresh", Kind: event.EmailReceived, CampaignID: "news", Time: h.clk.Now()}))
					found := false
					for _, c := range h.pending(e, "resend") {
						found = found || c.UserID == "fresh"
					}
					require.True(t, found, "resend triggers after the restart")
					h.drain(e, t0.Add(5*time.Hour))
					states := h.states(e)
					for id, k := range h.sent {
						require.Equal(t, 1, k, "delivery %s sent once", id)
						require.Equal(t, rule.Active, states[h.campaign[id]].State, "delivery %s of %s sent", id, h.campaign[id])
					}
					st, err := e.Stats(ctx)
					require.NoError(t, err)
					require.Zero(t, st.Pending, "nothing left pending once every due time passed")
				})
			}
		})
	}
}

// CrashDuringStop checks a process killed during Stop or Archive of a
// follow-up with many pending deliveries: the restart's Apply with
// KeepStopped (or with StopOthers and a set without it) leaves nothing
// of it pending; without KeepStopped, it resumes it, and none of the
// deliveries of before the stop is ever sent. The tallies count no
// delivery and at most one cancellation each.
func CrashDuringStop(t *testing.T, newDB NewDatabase) {
	for _, change := range []string{"stop", "archive"} {
		t.Run(change, func(t *testing.T) {
			at := t0.Add(10 * time.Minute)
			restarts := []restartWith{{setV1(), true, false}, {setV1(), false, false}, {setV3(), false, true}}
			for i, n := range killPoints(t, newDB, change, at, true) {
				r := restarts[i%len(restarts)]
				if change == "archive" && !r.keep && !r.others {
					r.keep = true // Apply refuses a set that holds an archived campaign
				}
				t.Run(fmt.Sprintf("after write %d, restart with %v", n, r), func(t *testing.T) {
					h := newHarness(t, newDB)
					h.setUp()
					before := h.scheduledOf("resend")
					require.Len(t, before, userCount)
					if _, killed, _ := h.crash(change, n, at); !killed {
						t.Skipf("the change ended before write %d", n)
					}
					h.clk.Set(t0.Add(15 * time.Minute))
					e := h.restart(r.set, r.keep, r.others)
					h.drain(e, t0.Add(5*time.Hour))
					ctx := context.Background()
					for id := range before {
						require.Zero(t, h.sent[id], "delivery %s, scheduled before the stop, sent", id)
					}
					require.Empty(t, h.pending(e, "resend"), "nothing of resend pending after every due time")
					missing := 0
					for id, user := range before {
						x, err := e.Explain(ctx, user, "resend")
						require.NoError(t, err)
						cancelled := false
						for _, d := range x.Decisions {
							cancelled = cancelled || (d.DeliveryID == id && d.Kind == rule.Cancelled)
						}
						if !cancelled {
							missing++
						}
					}
					// Killed after the state change and before the cancellation,
					// the restart cancels each delivery with its decision. Killed
					// after the cancellation committed, the decisions the dead
					// process had not yet written to the users' logs are lost.
					if n == 1 {
						require.Zero(t, missing, "deliveries of before the stop with no cancelled decision in their user's log")
					} else {
						t.Logf("%d deliveries of before the stop have no cancelled decision in their user's log", missing)
					}
					require.NoError(t, e.FlushTallies(ctx))
					tallies, err := e.Tallies(ctx, store.TallyQuery{CampaignID: "resend"})
					require.NoError(t, err)
					byKind := map[rule.DecisionKind]int64{}
					for _, x := range tallies {
						byKind[x.Kind] += x.Count
					}
					require.Zero(t, byKind[rule.Delivered], "tallies: resend delivered")
					require.LessOrEqual(t, byKind[rule.Cancelled], int64(userCount), "tallies: resend cancelled at most once each")
				})
			}
		})
	}
}

// CrashDuringTick checks a process killed while it sends (Tick): the
// restart sends what it held once its lease ends, each delivery twice at
// most, and twice only if the killed process sent it without recording
// it. An operator who stops
// resend before the restart's Apply (KeepStopped) gets none of its
// deliveries sent by the restarted engine.
func CrashDuringTick(t *testing.T, newDB NewDatabase) {
	at := t0.Add(90 * time.Minute)
	for i, n := range killPoints(t, newDB, "tick", at, true) {
		stop := i%2 == 0
		t.Run(fmt.Sprintf("after write %d, stopped %v", n, stop), func(t *testing.T) {
			h := newHarness(t, newDB)
			h.setUp()
			c, killed, _ := h.crash("tick", n, at)
			if !killed {
				t.Skipf("the change ended before write %d", n)
			}
			inFlight := map[string]bool{} // sent, and not recorded as delivered
			childSent := map[string]int{} // sends by the killed child
			for _, f := range c.Records(t) {
				switch f[0] {
				case "sent":
					inFlight[f[1]] = true
					childSent[f[1]]++
				case "done":
					delete(inFlight, f[1])
				}
			}
			h.clk.Set(at.Add(2 * time.Minute)) // the dead process's leases have ended
			if stop {
				require.NoError(t, h.engine().Stop(context.Background(), "resend"))
			}
			e := h.restart(setV1(), stop, false)
			h.drain(e, t0.Add(5*time.Hour))
			for _, campaign := range []string{"resend", "resend2", "promo_fu"} {
				for id := range h.scheduledOf(campaign) {
					total := childSent[id] + h.sent[id]
					switch {
					case stop && campaign == "resend":
						require.Zero(t, h.sent[id], "delivery %s of stopped resend sent after the restart", id)
					case inFlight[id]:
						require.Contains(t, []int{1, 2}, total, "delivery %s, in flight at the kill", id)
					default:
						require.Equal(t, 1, total, "delivery %s sent once (child %d, restart %d)", id, childSent[id], h.sent[id])
					}
				}
			}
			st, err := e.Stats(context.Background())
			require.NoError(t, err)
			require.Zero(t, st.Pending, "nothing left pending")
		})
	}
}

// CrashDuringBackfill checks that a process killed during Publish with
// a Backfill leaves the follow-up active with part of its backfill; the
// restart's Apply leaves it so.
// What the docs say to do when a backfill fails (stop, publish with the
// backfill again) schedules it once for every user.
func CrashDuringBackfill(t *testing.T, newDB NewDatabase) {
	at := t0.Add(10 * time.Minute)
	for _, n := range killPoints(t, newDB, "backfill", at, true) {
		t.Run(fmt.Sprintf("after write %d", n), func(t *testing.T) {
			h := newHarness(t, newDB)
			h.setUp()
			if _, killed, _ := h.crash("backfill", n, at); !killed {
				t.Skipf("the change ended before write %d", n)
			}
			h.clk.Set(t0.Add(15 * time.Minute))
			e := h.restart(setWinback(), false, false)
			t.Logf("killed after write %d: %d of %d users have their backfilled winback", n, len(h.pending(e, "winback")), userCount)
			ctx := context.Background()
			require.NoError(t, e.Stop(ctx, "winback"))
			require.NoError(t, e.Publish(ctx, "winback", connector.Backfill(t0.Add(-time.Hour))))
			users := map[string]int{}
			for _, c := range h.pending(e, "winback") {
				users[c.UserID]++
			}
			require.Len(t, users, userCount, "every user's winback backfilled")
			for u, k := range users {
				require.Equal(t, 1, k, "user %s", u)
			}
		})
	}
}
