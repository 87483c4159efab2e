package connector_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// batchSpy is a memory store that counts the calls of CancelCampaignBatch
// and UpdateBatch, fails the failAt-th batch (from 1; 0: none), and runs
// after, when set, after each batch it let through.
type batchSpy struct {
	*store.Memory
	mu            sync.Mutex
	batches       int
	failAt        int
	after         func(call int)
	updateBatches int
	updateOps     int
}

func (s *batchSpy) CancelCampaignBatch(ctx context.Context, ns, id, cursor string, limit int) ([]store.Claim, string, error) {
	s.mu.Lock()
	s.batches++
	call := s.batches
	s.mu.Unlock()
	if call == s.failAt {
		return nil, "", errCancelDown
	}
	removed, next, err := s.Memory.CancelCampaignBatch(ctx, ns, id, cursor, limit)
	if s.after != nil {
		s.after(call)
	}
	return removed, next, err
}

func (s *batchSpy) UpdateBatch(ctx context.Context, ns string, ops []store.Op) error {
	s.mu.Lock()
	s.updateBatches++
	s.updateOps += len(ops)
	s.mu.Unlock()
	return s.Memory.UpdateBatch(ctx, ns, ops)
}

// resetCounts forgets the calls so far (those of the setup's tracking).
func (s *batchSpy) resetCounts() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.batches, s.updateBatches, s.updateOps = 0, 0, 0
}

// spyWithoutBatchCancel is a batchSpy without store.BatchCanceller: the
// field hides the method, and the engine calls CancelCampaign.
type spyWithoutBatchCancel struct {
	*batchSpy
	CancelCampaignBatch struct{}
}

// backlogRun is an engine with n users each holding a pending delivery of
// "resend", due in 7 days, and what it decided and sent.
type backlogRun struct {
	e   *connector.Engine
	clk *clock.Mock
	mu  sync.Mutex
	ds  []rule.Decision
	// sent is keyed by user.
	sent map[string]int
}

func newBacklog(t *testing.T, s store.Store, n int, opts ...connector.Option) *backlogRun {
	t.Helper()
	ctx := context.Background()
	r := &backlogRun{clk: applyClock(), sent: map[string]int{}}
	r.e = newEngine(t, s, r.sender(), r.clk, append([]connector.Option{connector.WithObserver(r.observer())}, opts...)...)
	require.NoError(t, r.e.Apply(ctx, resendCampaigns))
	var evs []event.Event
	for i := range n {
		u := fmt.Sprintf("user%05d", i)
		evs = append(evs, event.Event{ID: "r-" + u, UserID: u, Kind: event.EmailReceived, CampaignID: "newsletter", Time: r.clk.Now()})
		if len(evs) == 500 || i == n-1 {
			require.NoError(t, r.e.TrackAll(ctx, evs))
			evs = evs[:0]
		}
	}
	return r
}

// sender counts each delivery sent, by user, in r.sent.
func (r *backlogRun) sender() connector.Sender {
	return connector.SenderFunc(func(_ context.Context, d connector.Delivery) error {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.sent[d.UserID]++
		return nil
	})
}

// observer keeps every decision in r.ds.
func (r *backlogRun) observer() connector.Observer {
	return connector.ObserverFunc(func(d rule.Decision) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.ds = append(r.ds, d)
	})
}

// holdingSender is r.sender, but for the first send, which hands its user
// to held and waits for release to be closed; before, when set, runs at
// the start of every send.
func (r *backlogRun) holdingSender(before func()) (send connector.Sender, held <-chan string, release chan struct{}) {
	hold := make(chan string)
	release = make(chan struct{})
	var first atomic.Bool
	count := r.sender()
	return connector.SenderFunc(func(ctx context.Context, d connector.Delivery) error {
		if before != nil {
			before()
		}
		if first.CompareAndSwap(false, true) {
			hold <- d.UserID
			<-release
		}
		return count.Send(ctx, d)
	}), hold, release
}

// stopped returns the users of the cancellations (campaign_stopped) of
// "resend" observed with detail detail ("stop" at the stop, "" at claim
// time), failing on a user cancelled twice.
func (r *backlogRun) stopped(t *testing.T, detail string) map[string]bool {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	users := map[string]bool{}
	for _, d := range r.ds {
		if d.Kind == rule.Cancelled && d.Reason == rule.ReasonCampaignStopped && d.CampaignID == "resend" && d.Detail == detail {
			require.False(t, users[d.UserID], "%s cancelled twice", d.UserID)
			users[d.UserID] = true
		}
	}
	return users
}

// sendDue moves the clock past the due time and ticks e until nothing
// is left to do.
func (r *backlogRun) sendDue(t *testing.T, e *connector.Engine) {
	t.Helper()
	r.clk.Add(8 * 24 * time.Hour)
	for range 100 {
		n, err := e.Tick(context.Background())
		require.NoError(t, err)
		if n == 0 {
			return
		}
	}
	t.Fatal("Tick does not run out of work")
}

const backlogUsers = 5000

// TestAStopCancelsABacklogInBatches: a stop of a follow-up with 5,000
// pending deliveries cancels them in batches of the store's
// BatchCanceller, each with one decision (observer, tally, decision log,
// written with UpdateBatch a batch at a time), and none is sent.
func TestAStopCancelsABacklogInBatches(t *testing.T) {
	ctx := context.Background()
	s := &batchSpy{Memory: store.NewMemory()}
	r := newBacklog(t, s, backlogUsers, connector.WithDecisionLog(10, 30*24*time.Hour))
	s.resetCounts()

	require.NoError(t, r.e.Stop(ctx, "resend"))
	require.Len(t, r.stopped(t, "stop"), backlogUsers)
	require.GreaterOrEqual(t, s.batches, backlogUsers/1000, "the stop did not cancel in batches")
	require.Equal(t, backlogUsers, s.updateOps, "decision log writes")
	require.Equal(t, backlogUsers/1000, s.updateBatches, "decision log writes not batched")
	for _, u := range []string{"user00000", "user02500", "user04999"} {
		st, err := s.User(ctx, "", u)
		require.NoError(t, err)
		require.Empty(t, st.Pending)
		n := 0
		for _, d := range st.Log {
			if d.Kind == rule.Cancelled && d.Reason == rule.ReasonCampaignStopped {
				n++
			}
		}
		require.Equal(t, 1, n, "%s's decision log", u)
	}
	ts, err := r.e.Tallies(ctx, store.TallyQuery{CampaignID: "resend", Kinds: []rule.DecisionKind{rule.Cancelled}})
	require.NoError(t, err)
	var tallied int64
	for _, tl := range ts {
		if tl.Reason == rule.ReasonCampaignStopped {
			tallied += tl.Count
		}
	}
	require.Equal(t, int64(backlogUsers), tallied)

	r.sendDue(t, r.e)
	require.Empty(t, r.sent)
	require.Len(t, r.stopped(t, "stop"), backlogUsers)
	require.Empty(t, r.stopped(t, ""), "cancelled again at claim time")
}

// TestAStopWithoutBatchCancelBatchesItsLog: with a store that has no
// BatchCanceller, the stop calls CancelCampaign, and writes its decision
// log with UpdateBatch in batches too.
func TestAStopWithoutBatchCancelBatchesItsLog(t *testing.T) {
	spy := &batchSpy{Memory: store.NewMemory()}
	s := spyWithoutBatchCancel{batchSpy: spy}
	r := newBacklog(t, s, backlogUsers, connector.WithDecisionLog(10, 30*24*time.Hour))
	spy.resetCounts()

	require.NoError(t, r.e.Stop(context.Background(), "resend"))
	require.Len(t, r.stopped(t, "stop"), backlogUsers)
	require.Zero(t, spy.batches)
	require.Equal(t, backlogUsers, spy.updateOps)
	require.Equal(t, backlogUsers/1000, spy.updateBatches)
	r.sendDue(t, r.e)
	require.Empty(t, r.sent)
}

// TestAStopCutShortBetweenBatches: the store fails the third batch, or
// ctx ends after the first. Stop says ErrNotCancelled; the batches done
// keep their decisions (at the stop), the rest are cancelled as they fall
// due (at claim time), each delivery once, and none is sent.
func TestAStopCutShortBetweenBatches(t *testing.T) {
	for _, tc := range []struct {
		name  string
		done  int // batches cancelled at the stop
		cause error
	}{
		{"store fails", 2, errCancelDown},
		{"ctx ends", 1, context.Canceled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			s := &batchSpy{Memory: store.NewMemory()}
			r := newBacklog(t, s, backlogUsers)
			s.resetCounts()
			if tc.cause == errCancelDown {
				s.failAt = 3
			} else {
				s.after = func(int) { cancel() }
			}

			err := r.e.Stop(ctx, "resend")
			require.ErrorIs(t, err, connector.ErrNotCancelled)
			require.ErrorIs(t, err, tc.cause)
			require.EqualError(t, err, `connector: stop "resend": cancelling pending deliveries: `+tc.cause.Error())
			atStop := r.stopped(t, "stop")
			require.Len(t, atStop, tc.done*1000)

			r.sendDue(t, r.e)
			require.Empty(t, r.sent, "a delivery of the stopped campaign was sent")
			atClaim := r.stopped(t, "")
			require.Len(t, atClaim, backlogUsers-tc.done*1000)
			for u := range atClaim {
				require.False(t, atStop[u], "%s cancelled at the stop and at claim time", u)
			}
		})
	}
}

// TestAResumeBetweenBatchesKeepsItsDeliveries: another engine resumes the
// follow-up after the stop's first batch and tracks receipts: the stop's
// later batches leave the new activation's deliveries, which are sent, and
// cancel the rest of the old.
func TestAResumeBetweenBatchesKeepsItsDeliveries(t *testing.T) {
	ctx := context.Background()
	s := &batchSpy{Memory: store.NewMemory()}
	r := newBacklog(t, s, backlogUsers)
	s.resetCounts()
	other := newEngine(t, s, r.sender(), r.clk)
	var fresh []string
	s.after = func(call int) {
		if call != 1 {
			return
		}
		require.NoError(t, other.Publish(ctx, "resend"))
		for i := range 50 {
			u := fmt.Sprintf("new%02d", i)
			fresh = append(fresh, u)
			require.NoError(t, other.Track(ctx, event.Event{ID: "r-" + u, UserID: u, Kind: event.EmailReceived, CampaignID: "newsletter", Time: r.clk.Now()}))
		}
	}

	require.NoError(t, r.e.Stop(ctx, "resend"))
	require.Greater(t, s.batches, 1)
	require.Len(t, fresh, 50)
	require.Len(t, r.stopped(t, "stop"), backlogUsers)

	r.sendDue(t, other)
	want := map[string]int{}
	for _, u := range fresh {
		want[u] = 1
	}
	require.Equal(t, want, r.sent)
}

// stuckCursor is a store whose CancelCampaignBatch hands back the cursor
// it was given once past the first call: a walk that never ends.
type stuckCursor struct {
	*store.Memory
	calls int
}

func (s *stuckCursor) CancelCampaignBatch(ctx context.Context, ns, id, cursor string, limit int) ([]store.Claim, string, error) {
	s.calls++
	if cursor != "" {
		return nil, cursor, nil
	}
	removed, next, err := s.Memory.CancelCampaignBatch(ctx, ns, id, cursor, limit)
	if next == "" {
		next = "stuck"
	}
	return removed, next, err
}

// TestAStopEndsOnACursorThatDoesNotMove: a store whose walk returns the
// cursor it was given would have the stop call it until its context
// ends; the stop ends with ErrNotCancelled, naming the cursor, and what
// is left is cancelled as it falls due.
func TestAStopEndsOnACursorThatDoesNotMove(t *testing.T) {
	s := &stuckCursor{Memory: store.NewMemory()}
	r := newBacklog(t, s, 2500)
	err := r.e.Stop(context.Background(), "resend")
	require.ErrorIs(t, err, connector.ErrNotCancelled)
	require.ErrorContains(t, err, "returned the cursor it was given")
	require.Equal(t, 2, s.calls)
	require.Len(t, r.stopped(t, "stop"), 1000)
	r.sendDue(t, r.e)
	require.Empty(t, r.sent, "a delivery of the stopped campaign was sent")
	require.Len(t, r.stopped(t, ""), 1500)
}
