package connector_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// lostReply is a memory store whose first call recording a send to user
// who (an op that adds a receipt) is applied and then reported as failed,
// as when a connection drops between a commit and its reply.
type lostReply struct {
	*store.Memory
	who string

	mu   sync.Mutex
	lost bool
}

var errLostReply = errors.New("connection closed before the reply to the commit")

// loses reports whether the call with ops, once applied, must report a
// failure.
func (s *lostReply) loses(ctx context.Context, ns string, ops []store.Op) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lost {
		return false
	}
	for _, op := range ops {
		if op.UserID != s.who {
			continue
		}
		st, err := s.Memory.User(ctx, ns, op.UserID)
		if err != nil {
			continue
		}
		c := st.Clone()
		op.Fn(&c, false) // on a copy: the engine's update functions may run again
		if len(c.Receipts) > len(st.Receipts) {
			s.lost = true
			return true
		}
	}
	return false
}

func (s *lostReply) Update(ctx context.Context, ns, userID string, now time.Time, dedup store.Dedup, fn func(*store.UserState, bool)) error {
	lose := s.loses(ctx, ns, []store.Op{{UserID: userID, Fn: fn}})
	if err := s.Memory.Update(ctx, ns, userID, now, dedup, fn); err != nil || !lose {
		return err
	}
	return errLostReply
}

func (s *lostReply) UpdateBatch(ctx context.Context, ns string, ops []store.Op) error {
	lose := s.loses(ctx, ns, ops)
	if err := s.Memory.UpdateBatch(ctx, ns, ops); err != nil || !lose {
		return err
	}
	for i := range ops {
		ops[i].Err = errLostReply
	}
	return errLostReply
}

// TestRecordStoredDespiteAnErrorCountsTheSendOnce checks that when a store
// call stores a send's record and still reports an error, the record's
// retry does not count the send again: the frequency caps, the decision
// log and the observers see one send, and the user's other follow-up,
// within the cap, is sent.
func TestRecordStoredDespiteAnErrorCountsTheSendOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := clock.NewMock()
		s := &lostReply{Memory: store.NewMemory(), who: "u1"}
		rec := &recorder{}
		var mu sync.Mutex
		observed := map[string]int{}
		e, err := connector.New(s, rec, connector.WithClock(clk), connector.WithSendConcurrency(1),
			connector.WithFrequencyCaps(connector.FrequencyCap{Max: 2, Window: 24 * time.Hour}),
			connector.WithDecisionLog(100, 24*time.Hour),
			connector.WithObserver(connector.ObserverFunc(func(d rule.Decision) {
				mu.Lock()
				defer mu.Unlock()
				if d.UserID == "u1" && d.Kind != rule.Scheduled {
					observed[string(d.Kind)]++
				}
			})))
		require.NoError(t, err)
		dueFor(t, e, "u0", "u1", "u2") // two follow-ups each, within the cap of 2 a day
		// The clock moves by the record retry's backoff.
		_, err = tickSettled(e, clk, 10*time.Millisecond)
		require.NoError(t, err)
		require.True(t, s.lost, "a reply was lost")
		for id, n := range rec.byID {
			require.Equal(t, 1, n, "delivery %s sent %d times", id, n)
		}
		require.Equal(t, 6, rec.count(), "every user gets both follow-ups")
		u, err := s.Memory.User(context.Background(), "", "u1")
		require.NoError(t, err)
		require.Len(t, u.Sends, 2, "the cap counts each send once")
		logged := 0
		for _, d := range u.Log {
			if d.Kind == rule.Delivered {
				logged++
			}
		}
		require.Equal(t, 2, logged, "the log holds each send once: %+v", u.Log)
		mu.Lock()
		defer mu.Unlock()
		require.Equal(t, map[string]int{string(rule.Delivered): 2}, observed)
	})
}
