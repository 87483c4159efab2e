package connector_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// lostSharedReply is a memory store whose first batch of more than one
// op, once armed, is applied and then reported as failed, each op with
// the error: a transaction committed whose answer was lost.
type lostSharedReply struct {
	*store.Memory
	armed atomic.Bool
}

var errLostShared = errors.New("connection reset after the commit")

func (s *lostSharedReply) UpdateBatch(ctx context.Context, ns string, ops []store.Op) error {
	if err := s.Memory.UpdateBatch(ctx, ns, ops); err != nil || len(ops) < 2 || !s.armed.CompareAndSwap(true, false) {
		return err
	}
	for i := range ops {
		ops[i].Err = errLostShared
	}
	return errLostShared
}

// A confirmation stored by a shared call whose answer was lost, and then
// applied again on its own, counts its attempt once: the delivery goes
// out as attempt 1, with its retries intact.
func TestAConfirmationAppliedAgainAfterALostReplyCountsOneAttempt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &lostSharedReply{Memory: store.NewMemory()}
		l := &sendLog{}
		e, err := connector.New(s, l, connector.WithSendConcurrency(1))
		require.NoError(t, err)
		dueFor(t, e, "u1")
		s.armed.Store(true) // the second delivery's check shares a call with the first's record
		n, err := e.Tick(context.Background())
		require.NoError(t, err)
		require.Equal(t, 2, n)
		require.False(t, s.armed.Load(), "no shared call lost its answer")
		for _, d := range l.sends() {
			require.Equal(t, 1, d.Attempt, "delivery %s (%s)", d.ID, d.CampaignID)
		}
	})
}

// lostReplies is a memory store that applies each write and, while lose
// is above zero, reports it failed: a call committed whose answer was
// lost.
type lostReplies struct {
	*store.Memory
	lose  atomic.Int64
	after func() // called once a write is applied and its answer lost
}

func (s *lostReplies) Update(ctx context.Context, ns, user string, now time.Time, d store.Dedup, fn func(*store.UserState, bool)) error {
	err := s.Memory.Update(ctx, ns, user, now, d, fn)
	if err == nil && s.lose.Add(-1) >= 0 {
		s.lost()
		return errLostShared
	}
	return err
}

func (s *lostReplies) UpdateBatch(ctx context.Context, ns string, ops []store.Op) error {
	err := s.Memory.UpdateBatch(ctx, ns, ops)
	if err == nil && s.lose.Add(-1) >= 0 {
		s.lost()
		for i := range ops {
			ops[i].Err = errLostShared
		}
		return errLostShared
	}
	return err
}

func (s *lostReplies) lost() {
	if s.after != nil {
		s.after()
	}
}

// A last check stored by a call of its own whose answer was lost sends
// nothing, and gives the delivery back as the claim found it: the next
// Tick sends it as attempt 1, at once, not after its lease as attempt 2.
func TestAConfirmationWhoseAnswerWasLostIsGivenBackUncounted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &lostReplies{Memory: store.NewMemory()}
		l := &sendLog{}
		e, err := connector.New(s, l, connector.WithSendConcurrency(1), connector.WithLogger(slog.New(slog.DiscardHandler)))
		require.NoError(t, err)
		dueFor(t, e, "u1")
		s.lose.Store(1)
		_, err = e.Tick(context.Background())
		require.ErrorIs(t, err, errLostShared)
		require.Empty(t, l.sends())
		n, err := e.Tick(context.Background())
		require.NoError(t, err)
		require.Equal(t, 2, n)
		for _, d := range l.sends() {
			require.Equal(t, 1, d.Attempt, "delivery %s (%s)", d.ID, d.CampaignID)
		}
	})
}

// An exception that arrives between such a check and its give-back
// cancels the delivery at the next check, as one that arrives during a
// send never recorded: the exception wins, and the observers hear of it.
func TestAnExceptionAfterALostConfirmationCancelsIt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		s := &lostReplies{Memory: store.NewMemory()}
		l := &sendLog{}
		var mu sync.Mutex
		var cancelled []rule.Decision
		e, err := connector.New(s, l, connector.WithSendConcurrency(1), connector.WithLogger(slog.New(slog.DiscardHandler)),
			connector.WithObserver(connector.ObserverFunc(func(d rule.Decision) {
				if d.Kind == rule.Cancelled {
					mu.Lock()
					cancelled = append(cancelled, d)
					mu.Unlock()
				}
			})))
		require.NoError(t, err)
		for _, c := range []rule.Campaign{{ID: "o"}, {ID: "f", Triggers: []rule.Trigger{{Kind: event.PushOpened, CampaignID: "o"}},
			Delay: rule.After(time.Hour), Exceptions: []rule.Exception{{Kind: event.Purchase}}}} {
			require.NoError(t, e.Save(ctx, c))
			require.NoError(t, e.Publish(ctx, c.ID))
		}
		require.NoError(t, e.Track(ctx, event.Event{UserID: "u1", Kind: event.PushOpened, CampaignID: "o"}))
		time.Sleep(time.Hour)
		s.after = func() {
			s.after = nil
			// A purchase a minute before the due time, reported now.
			require.NoError(t, e.Track(ctx, event.Event{UserID: "u1", Kind: event.Purchase, Time: time.Now().Add(-time.Minute)}))
		}
		s.lose.Store(1)
		_, err = e.Tick(ctx)
		require.ErrorIs(t, err, errLostShared)
		n, err := e.Tick(ctx)
		require.NoError(t, err)
		require.Zero(t, n)
		require.Empty(t, l.sends())
		mu.Lock()
		defer mu.Unlock()
		require.Len(t, cancelled, 1)
		require.Equal(t, rule.ReasonException, cancelled[0].Reason)
		pending, err := e.PendingCount(ctx)
		require.NoError(t, err)
		require.Zero(t, pending)
	})
}

// rerunLostReplies is lostReplies on a store that runs each update twice,
// on a copy first (a serialization retry), as rerunStore does.
type rerunLostReplies struct{ lostReplies }

func (s *rerunLostReplies) Update(ctx context.Context, ns, user string, now time.Time, d store.Dedup, fn func(*store.UserState, bool)) error {
	return s.lostReplies.Update(ctx, ns, user, now, d, twice(fn))
}

func (s *rerunLostReplies) UpdateBatch(ctx context.Context, ns string, ops []store.Op) error {
	fns := make([]func(*store.UserState, bool), len(ops))
	for i := range ops {
		fns[i] = ops[i].Fn
		ops[i].Fn = twice(fns[i])
	}
	defer func() {
		for i := range ops {
			ops[i].Fn = fns[i]
		}
	}()
	return s.lostReplies.UpdateBatch(ctx, ns, ops)
}

// A claim that finds an attempt confirmed and never recorded, whose own
// last check is stored by a call whose answer was lost, gives the
// delivery back as it found it: still marked as sending in that attempt
// (it may have gone out), so the next claim sends it as the attempt
// after, once; also on a store that runs each update twice.
func TestALostConfirmationOfAnAttemptNeverRecordedKeepsItsMark(t *testing.T) {
	for _, rerun := range []bool{false, true} {
		t.Run(fmt.Sprint("rerun=", rerun), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx := context.Background()
				lr := &rerunLostReplies{lostReplies{Memory: store.NewMemory()}}
				var s store.Store = &lr.lostReplies
				if rerun {
					s = lr
				}
				l := &sendLog{}
				e, err := connector.New(s, l, connector.WithSendConcurrency(1), connector.WithLogger(slog.New(slog.DiscardHandler)))
				require.NoError(t, err)
				dueFor(t, e, "u1")
				neverRecorded(t, lr.Memory)
				lr.lose.Store(1)
				_, err = e.Tick(ctx)
				require.ErrorIs(t, err, errLostShared)
				require.Empty(t, l.sends())
				givenBackMarked(t, e, lr.Memory, l, "the delivery whose check was lost is given back")
			})
		})
	}
}

// stopAfterWrite is a memory store that, while armed, calls stop once a
// write is applied: the Tick stops between a last check and its send.
type stopAfterWrite struct {
	*store.Memory
	stop atomic.Pointer[context.CancelFunc]
}

func (s *stopAfterWrite) Update(ctx context.Context, ns, user string, now time.Time, d store.Dedup, fn func(*store.UserState, bool)) error {
	err := s.Memory.Update(ctx, ns, user, now, d, fn)
	s.stopped()
	return err
}

func (s *stopAfterWrite) UpdateBatch(ctx context.Context, ns string, ops []store.Op) error {
	err := s.Memory.UpdateBatch(ctx, ns, ops)
	s.stopped()
	return err
}

func (s *stopAfterWrite) stopped() {
	if stop := s.stop.Swap(nil); stop != nil {
		(*stop)()
	}
}

// A claim that finds an attempt confirmed and never recorded, and whose
// Tick stops after its last check and before its send, gives the
// delivery back as it found it, still marked as sending in that attempt
// (it may have gone out), as a give-back after a lost check does.
func TestAnUnsentConfirmationOfAnAttemptNeverRecordedKeepsItsMark(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		s := &stopAfterWrite{Memory: store.NewMemory()}
		l := &sendLog{}
		e, err := connector.New(s, l, connector.WithSendConcurrency(1), connector.WithLogger(slog.New(slog.DiscardHandler)))
		require.NoError(t, err)
		dueFor(t, e, "u1")
		neverRecorded(t, s.Memory)
		tctx, cancel := context.WithCancel(ctx)
		defer cancel()
		s.stop.Store(&cancel)
		_, err = e.Tick(tctx)
		require.ErrorIs(t, err, context.Canceled)
		require.Empty(t, l.sends())
		givenBackMarked(t, e, s.Memory, l, "the delivery confirmed and not sent is given back")
	})
}

// neverRecorded marks u1's deliveries in m as an attempt 1 confirmed and
// never recorded (its engine died during the send), their lease over.
func neverRecorded(t *testing.T, m *store.Memory) {
	t.Helper()
	now := time.Now()
	require.NoError(t, m.Update(context.Background(), "", "u1", now, store.Dedup{}, func(u *store.UserState, _ bool) {
		for _, p := range u.Pending {
			p.Sending, p.Attempt, p.Token, p.ReadyAt = true, 1, 42, now
		}
	}))
}

// givenBackMarked checks that of neverRecorded's two deliveries, the one
// whose Tick failed before its send was given back still marked as
// sending in attempt 1 (why: the message), and that once the other's
// lease is over a Tick of e sends both as attempt 2.
func givenBackMarked(t *testing.T, e *connector.Engine, m *store.Memory, l *sendLog, why string) {
	t.Helper()
	ctx := context.Background()
	given := 0
	require.NoError(t, m.Update(ctx, "", "u1", time.Now(), store.Dedup{}, func(u *store.UserState, _ bool) {
		require.Len(t, u.Pending, 2)
		for _, p := range u.Pending {
			require.True(t, p.Sending, "delivery %s", p.ID)
			require.Equal(t, 1, p.Attempt, "delivery %s", p.ID)
			if p.Token == 0 {
				given++
			}
		}
	}))
	require.Equal(t, 1, given, why)
	time.Sleep(2 * time.Minute) // past the lease of the one the Tick's end left leased
	n, err := e.Tick(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, n)
	for _, d := range l.sends() {
		require.Equal(t, 2, d.Attempt, "delivery %s (%s)", d.ID, d.CampaignID)
	}
}
