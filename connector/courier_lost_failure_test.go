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

// lostFailureReply is a memory store that, once armed (by a send to its
// user that failed), applies the next call holding an op for that user
// and reports it failed, as when a connection drops between the commit
// of a failed send's record and its reply.
type lostFailureReply struct {
	*store.Memory
	who string
	// micro keeps ReadyAt to the microsecond, rounded down, as PostgreSQL
	// does.
	micro bool

	mu          sync.Mutex
	armed, lost bool
}

func (s *lostFailureReply) arm() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.lost {
		s.armed = true
	}
}

// loses reports whether the call with ops, once applied, must report a
// failure.
func (s *lostFailureReply) loses(ops []store.Op) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.armed {
		return false
	}
	for _, op := range ops {
		if op.UserID == s.who {
			s.armed, s.lost = false, true
			return true
		}
	}
	return false
}

// floor returns fn, followed, for a store keeping microseconds, by the
// rounding down of the ReadyAt of the user's deliveries.
func (s *lostFailureReply) floor(fn func(*store.UserState, bool)) func(*store.UserState, bool) {
	if !s.micro {
		return fn
	}
	return func(u *store.UserState, duplicate bool) {
		fn(u, duplicate)
		for _, p := range u.Pending {
			p.ReadyAt = p.ReadyAt.Truncate(time.Microsecond)
		}
	}
}

func (s *lostFailureReply) Update(ctx context.Context, ns, userID string, now time.Time, dedup store.Dedup, fn func(*store.UserState, bool)) error {
	lose := s.loses([]store.Op{{UserID: userID}})
	fn = s.floor(fn)
	if err := s.Memory.Update(ctx, ns, userID, now, dedup, fn); err != nil || !lose {
		return err
	}
	return errLostReply
}

func (s *lostFailureReply) UpdateBatch(ctx context.Context, ns string, ops []store.Op) error {
	lose := s.loses(ops)
	for i := range ops {
		ops[i].Fn = s.floor(ops[i].Fn)
	}
	if err := s.Memory.UpdateBatch(ctx, ns, ops); err != nil || !lose {
		return err
	}
	for i := range ops {
		ops[i].Err = errLostReply
	}
	return errLostReply
}

// TestFailureStoredDespiteAnErrorIsObservedOnce checks that when a store
// call stores a failed send's record and still reports an error, the
// record's retry hands the outcome to the observers (and the tallies) once:
// a retry scheduled, a permanent failure, or an exhausted one. The user's
// decision log holds it once too.
func TestFailureStoredDespiteAnErrorIsObservedOnce(t *testing.T) {
	for _, tc := range []struct {
		name     string
		attempts int
		err      error
		want     rule.DecisionKind
		micro    bool    // the store keeps ReadyAt to the microsecond
		jitter   float64 // the retry policy's
	}{
		{"retried", 3, errors.New("503 try later"), rule.Retried, false, 0},
		{"permanent", 3, connector.Permanent(errors.New("550 no such mailbox")), rule.Failed, false, 0},
		{"last attempt", 1, errors.New("503 try later"), rule.Failed, false, 0},
		{"retried, in a store keeping microseconds", 3, errors.New("503 try later"), rule.Retried, true, 0},
		{"permanent, in a store keeping microseconds", 3, connector.Permanent(errors.New("550 no such mailbox")), rule.Failed, true, 0},
		{"retried with a jittered backoff", 3, errors.New("503 try later"), rule.Retried, false, 0.5},
		{"retried with a jittered backoff, in a store keeping microseconds", 3, errors.New("503 try later"), rule.Retried, true, 0.5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				clk := clock.NewMock()
				clk.Set(time.Date(2026, 3, 2, 9, 0, 0, 123_456_789, time.UTC)) // not a whole microsecond
				s := &lostFailureReply{Memory: store.NewMemory(), who: "u1", micro: tc.micro}
				rec := &recorder{fail: func(d connector.Delivery) error {
					if d.UserID == "u1" && d.CampaignID == "now" && d.Attempt == 1 {
						s.arm()
						return tc.err
					}
					return nil
				}}
				var mu sync.Mutex
				observed := map[rule.DecisionKind]int{}
				e, err := connector.New(s, rec, connector.WithClock(clk), connector.WithSendConcurrency(1),
					connector.WithRetryPolicy(connector.RetryPolicy{MaxAttempts: tc.attempts, Base: time.Hour, Max: time.Hour, Jitter: tc.jitter}),
					connector.WithDecisionLog(100, 24*time.Hour),
					connector.WithObserver(connector.ObserverFunc(func(d rule.Decision) {
						mu.Lock()
						defer mu.Unlock()
						if d.UserID == "u1" && d.CampaignID == "now" && d.Kind != rule.Scheduled {
							observed[d.Kind]++
						}
					})))
				require.NoError(t, err)
				dueFor(t, e, "u0", "u1", "u2")
				_, err = tickSettled(e, clk, 10*time.Millisecond) // the record retry's backoff
				require.NoError(t, err)
				require.True(t, s.lost, "a reply was lost")
				mu.Lock()
				require.Equal(t, map[rule.DecisionKind]int{tc.want: 1}, observed)
				mu.Unlock()
				u, err := s.Memory.User(context.Background(), "", "u1")
				require.NoError(t, err)
				logged := 0
				for _, d := range u.Log {
					if d.CampaignID == "now" && d.Kind == tc.want {
						logged++
					}
				}
				require.Equal(t, 1, logged, "the log holds the outcome once: %+v", u.Log)
				require.Equal(t, 5, rec.count(), "every other delivery is sent")
			})
		})
	}
}
