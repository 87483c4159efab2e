package connector_test

import (
	"context"
	"errors"
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
