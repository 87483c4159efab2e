package connector_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// faultyMemory is a memory store whose updates fail for one user and
// whose interaction log fails while logFails is set.
type faultyMemory struct {
	*store.Memory
	failUser string
	logFails bool
}

func (s *faultyMemory) Update(ctx context.Context, ns, userID string, now time.Time, d store.Dedup, fn func(*store.UserState, bool)) error {
	if userID == s.failUser {
		return errBroken
	}
	return s.Memory.Update(ctx, ns, userID, now, d, fn)
}

func (s *faultyMemory) UpdateBatch(ctx context.Context, ns string, ops []store.Op) error {
	var pass []store.Op
	var at []int
	for i := range ops {
		if ops[i].UserID == s.failUser {
			ops[i].Err = errBroken
			continue
		}
		pass, at = append(pass, ops[i]), append(at, i)
	}
	err := s.Memory.UpdateBatch(ctx, ns, pass)
	for j, i := range at {
		ops[i].Err = pass[j].Err
	}
	return err
}

func (s *faultyMemory) AppendInteractions(ctx context.Context, ns string, evs []event.Event, until time.Time) error {
	if s.logFails {
		return errBroken
	}
	return s.Memory.AppendInteractions(ctx, ns, evs, until)
}

// TestTrackAllAsTrackAtRandom checks TrackAll against Track on each event
// in turn, over random mixes of triggers, exceptions, unheard events,
// typos of campaign IDs, retries, invalid events and events with and
// without times; with and without WithDedupAll and the interaction log,
// with a store that takes batches and one that does not, a user whose
// updates fail, rounds whose interaction log fails, and a directory that
// fails for one user. Each user's decisions (in order), the errors, the
// event counts, the stored states and the interaction log must be the
// same. The last seeds send batches of 2,500 events, over two chunks.
func TestTrackAllAsTrackAtRandom(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	users := []string{"u0", "u1", "u2", "u3", "u4", "u5"}
	vip := rule.Campaign{ID: "vip", Audience: "vip", Triggers: []rule.Trigger{{Kind: event.Purchase}}, Delay: rule.After(time.Hour), Message: []byte(`{}`)}
	seeds := 200
	if testing.Short() {
		seeds = 40
	}
	for seed := range seeds + 3 {
		r := rand.New(rand.NewPCG(uint64(seed), 7))
		dedupAll, logged, plain := r.IntN(2) == 0, r.IntN(2) == 0, r.IntN(3) == 0
		failUser := ""
		if r.IntN(2) == 0 {
			failUser = "u3"
		}
		type round struct {
			advance  time.Duration
			events   []event.Event
			logFails bool
		}
		var rounds []round
		for range 1 + r.IntN(6) {
			rd := round{advance: time.Duration(r.IntN(4)) * time.Hour, logFails: logged && r.IntN(5) == 0}
			n := 1 + r.IntN(25)
			if seed >= seeds {
				n = 2500
			}
			for range n {
				ev := event.Event{UserID: users[r.IntN(len(users))]}
				switch r.IntN(7) {
				case 0, 1:
					ev.Kind, ev.CampaignID = event.EmailReceived, "newsletter"
				case 2:
					ev.Kind, ev.CampaignID = event.EmailOpened, "newsletter"
				case 3:
					ev.Kind, ev.CampaignID = event.EmailOpened, "nwsletter" // a typo
				case 4:
					ev.Kind = event.Purchase
				case 5:
					ev.Kind = event.SessionStart
				case 6:
					ev.Kind = "bogus"
				}
				if r.IntN(4) != 0 {
					ev.ID = fmt.Sprint("e", r.IntN(8))
				}
				if r.IntN(3) == 0 {
					ev.Time = t0.Add(time.Duration(r.IntN(600)) * time.Minute)
				}
				rd.events = append(rd.events, ev)
			}
			rounds = append(rounds, rd)
		}
		run := func(batch bool) map[string]any {
			mem := &faultyMemory{Memory: store.NewMemory(), failUser: failUser}
			var s store.Store = mem
			if plain {
				s = &plainStore{Store: mem}
			}
			clk := clock.NewMock()
			clk.Set(t0)
			decisions := map[string][]string{}
			opts := []connector.Option{
				connector.WithObserver(connector.ObserverFunc(func(d rule.Decision) {
					decisions[d.UserID] = append(decisions[d.UserID], fmt.Sprint(d.Kind, " ", d.Reason, " ", d.CampaignID, " ", d.EventID, " ", d.EventKind, " ", d.EventTime, " ", d.At))
				})),
				connector.WithDirectory(connector.SegmentFunc(func(_ context.Context, userID, _ string) (bool, error) {
					if userID == "u4" {
						return false, errors.New("directory down")
					}
					return userID == "u1", nil
				})),
			}
			if dedupAll {
				opts = append(opts, connector.WithDedupAll())
			}
			if logged {
				opts = append(opts, connector.WithInteractionLog(24*time.Hour))
			}
			e := newEngine(t, s, connector.SenderFunc(func(context.Context, connector.Delivery) error { return nil }), clk, opts...)
			setupResend(t, e)
			require.NoError(t, e.Save(ctx, vip))
			require.NoError(t, e.Publish(ctx, "vip"))
			clk.Add(time.Hour)
			var errs []string
			for _, rd := range rounds {
				clk.Add(rd.advance)
				mem.logFails = rd.logFails
				if batch {
					for _, te := range connector.TrackErrors(e.TrackAll(ctx, rd.events)) {
						errs = append(errs, te.Error())
					}
					continue
				}
				for i, ev := range rd.events {
					if err := e.Track(ctx, ev); err != nil {
						errs = append(errs, (&connector.TrackError{Index: i, Err: err}).Error())
					}
				}
			}
			mem.logFails = false
			states := map[string]string{}
			for _, u := range users {
				if st, err := mem.Memory.User(ctx, "", u); err == nil {
					b, err := json.Marshal(st)
					require.NoError(t, err)
					states[u] = string(b)
				}
			}
			var logged []string
			require.NoError(t, mem.Memory.Interactions(ctx, "", store.InteractionQuery{}, func(ev event.Event) bool {
				logged = append(logged, fmt.Sprint(ev))
				return true
			}))
			slices.Sort(logged)
			return map[string]any{"decisions": decisions, "errors": errs, "counts": e.EventCounts(), "states": states, "log": logged}
		}
		want, got := run(false), run(true)
		for _, k := range []string{"decisions", "errors", "counts", "states", "log"} {
			require.Equal(t, want[k], got[k], "seed %d (WithDedupAll %t, log %t, no batches %t, failing user %q): %s, Track then TrackAll",
				seed, dedupAll, logged, plain, failUser, k)
		}
	}
}
