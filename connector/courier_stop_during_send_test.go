package connector_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// outcomes counts, per delivery, the decisions observers saw about it
// after it was scheduled, and keeps them in the order seen.
type outcomes struct {
	mu   sync.Mutex
	byID map[string][]rule.DecisionKind
	list []rule.Decision
}

// isOutcome reports whether d is about a scheduled delivery, after its
// scheduling.
func isOutcome(d rule.Decision) bool { return d.DeliveryID != "" && d.Kind != rule.Scheduled }

func (o *outcomes) observe(d rule.Decision) {
	if !isOutcome(d) {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.byID == nil {
		o.byID = map[string][]rule.DecisionKind{}
	}
	o.byID[d.DeliveryID] = append(o.byID[d.DeliveryID], d.Kind)
	o.list = append(o.list, d)
}

// all returns the decisions seen, in order.
func (o *outcomes) all() []rule.Decision {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.list)
}

// loggedOutcomes returns the decisions of u's log that outcomes keeps.
func loggedOutcomes(u store.UserState) []rule.Decision {
	return slices.DeleteFunc(slices.Clone(u.Log), func(d rule.Decision) bool { return !isOutcome(d) })
}

func (o *outcomes) of(id string) []rule.DecisionKind {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.byID[id]
}

// tallied returns how many decisions of kind about campaign the store's
// tallies hold, once e flushed them.
func tallied(t *testing.T, e *connector.Engine, campaign string, kind rule.DecisionKind) int64 {
	t.Helper()
	ts, err := e.Tallies(context.Background(), store.TallyQuery{})
	require.NoError(t, err)
	var n int64
	for _, x := range ts {
		if x.CampaignID == campaign && x.Kind == kind {
			n += x.Count
		}
	}
	return n
}

// stopDuringSendEngine returns an engine on s whose sender calls during
// the send of u1's delivery of "now", and the outcomes it observes.
func stopDuringSendEngine(t *testing.T, s store.Store, during func(e *connector.Engine, d connector.Delivery) error) (*connector.Engine, *outcomes, *recorder) {
	var e *connector.Engine
	rec := &recorder{fail: func(d connector.Delivery) error {
		if d.UserID == "u1" && d.CampaignID == "now" {
			return during(e, d)
		}
		return nil
	}}
	o := &outcomes{}
	var err error
	e, err = connector.New(s, rec, connector.WithClock(clock.NewMock()), connector.WithSendConcurrency(1),
		connector.WithRetryPolicy(connector.RetryPolicy{MaxAttempts: 3, Base: time.Hour, Max: time.Hour}),
		connector.WithDecisionLog(100, 24*time.Hour),
		connector.WithObserver(connector.ObserverFunc(o.observe)))
	require.NoError(t, err)
	dueFor(t, e, "u1")
	return e, o, rec
}

// TestStopDuringAnAcceptedSendIsObservedDelivered checks that a delivery
// whose campaign is stopped while the sender is accepting it has one
// outcome, delivered: the stop cannot call it back, and does not also
// report it cancelled, in the decisions, the tallies or the user's log.
func TestStopDuringAnAcceptedSendIsObservedDelivered(t *testing.T) {
	s := store.NewMemory()
	var id string
	e, o, rec := stopDuringSendEngine(t, s, func(e *connector.Engine, d connector.Delivery) error {
		id = d.ID
		return e.Stop(context.Background(), "now")
	})
	_, err := e.Tick(context.Background())
	require.NoError(t, err)
	require.Equal(t, 1, rec.byID[id])
	require.Equal(t, []rule.DecisionKind{rule.Delivered}, o.of(id))
	require.Equal(t, int64(1), tallied(t, e, "now", rule.Delivered))
	require.Zero(t, tallied(t, e, "now", rule.Cancelled))
	u, err := s.User(context.Background(), "", "u1")
	require.NoError(t, err)
	for _, d := range u.Log {
		require.False(t, d.DeliveryID == id && d.Kind == rule.Cancelled, "the log says it was cancelled: %+v", d)
	}
}

// TestStaleDeliveryBeingSentIsNotCancelledByATrack checks that an event
// tracked for a user while the user's delivery is being sent, after its
// campaign was stopped elsewhere and before that stop cancelled it, does
// not report the delivery cancelled: its send is under way, and the
// sender accepts it.
func TestStaleDeliveryBeingSentIsNotCancelledByATrack(t *testing.T) {
	s := store.NewMemory()
	var id string
	e, o, rec := stopDuringSendEngine(t, s, func(e *connector.Engine, d connector.Delivery) error {
		id = d.ID
		ctx := context.Background()
		// Another engine's stop, whose cancellation has not run yet.
		_, err := s.UpdateCampaign(ctx, "", "now", func(rec *store.CampaignRecord, _ bool) error {
			rec.State = rule.Stopped
			return nil
		})
		if err != nil {
			return err
		}
		return e.Track(ctx, event.Event{ID: "again", UserID: "u1", Kind: event.PushOpened, CampaignID: "o"})
	})
	_, err := e.Tick(context.Background())
	require.NoError(t, err)
	require.Equal(t, 1, rec.byID[id])
	require.Equal(t, []rule.DecisionKind{rule.Delivered}, o.of(id))
	require.Zero(t, tallied(t, e, "now", rule.Cancelled))
}

// TestStopAfterTheLastCheckOfAnUnsentDeliveryIsObservedOnce checks that a
// delivery confirmed for its send, whose campaign is stopped before the
// send starts while its Tick is stopping, so that it is never sent, is
// observed cancelled once.
func TestStopAfterTheLastCheckOfAnUnsentDeliveryIsObservedOnce(t *testing.T) {
	s := store.NewMemory()
	rec := &recorder{}
	o := &outcomes{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var e *connector.Engine
	var once sync.Once
	var stopped string
	var err error
	e, err = connector.New(s, rec, connector.WithClock(clock.NewMock()), connector.WithSendConcurrency(1),
		connector.WithObserver(connector.ObserverFunc(func(d rule.Decision) {
			o.observe(d)
			if d.Kind != rule.Delivered {
				return
			}
			// The first send's record was stored with the confirmation of
			// the next delivery, the other follow-up's: stop it, and the
			// Tick, before its send.
			once.Do(func() {
				stopped = map[string]string{"now": "also", "also": "now"}[d.CampaignID]
				cancel()
				if err := e.Stop(context.Background(), stopped); err != nil {
					t.Error(err)
				}
			})
		})))
	require.NoError(t, err)
	dueFor(t, e, "u1")
	_, err = e.Tick(ctx)
	require.ErrorIs(t, err, context.Canceled)
	require.Len(t, rec.sent, 1)
	require.NotEqual(t, stopped, rec.sent[0].CampaignID)
	o.mu.Lock()
	defer o.mu.Unlock()
	require.Len(t, o.byID, 2)
	for id, kinds := range o.byID {
		if id != rec.sent[0].ID {
			require.Equal(t, []rule.DecisionKind{rule.Cancelled}, kinds, "the delivery of %q", stopped)
		}
	}
}
