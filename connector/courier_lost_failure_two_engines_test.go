package connector_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// cutOffAfterLoss is a lostFailureReply that, once it has lost the reply,
// fails every later update until mended, applying nothing: the engine
// whose connection dropped cannot reach the store for a while, while
// other engines can.
type cutOffAfterLoss struct {
	*lostFailureReply
	mu      sync.Mutex
	mended  bool
	refused int
}

var errCutOff = errors.New("dial tcp: connection refused")

func (s *cutOffAfterLoss) cut() bool {
	s.lostFailureReply.mu.Lock()
	lost := s.lostFailureReply.lost
	s.lostFailureReply.mu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if lost && !s.mended {
		s.refused++
		return true
	}
	return false
}

func (s *cutOffAfterLoss) mend() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mended = true
}

func (s *cutOffAfterLoss) Update(ctx context.Context, ns, userID string, now time.Time, dedup store.Dedup, fn func(*store.UserState, bool)) error {
	if s.cut() {
		return errCutOff
	}
	return s.lostFailureReply.Update(ctx, ns, userID, now, dedup, fn)
}

func (s *cutOffAfterLoss) UpdateBatch(ctx context.Context, ns string, ops []store.Op) error {
	if s.cut() {
		for i := range ops {
			ops[i].Err = errCutOff
		}
		return errCutOff
	}
	return s.lostFailureReply.UpdateBatch(ctx, ns, ops)
}

// An engine's failed send is retried sooner than its lease ends (the
// retry policy's Base under the lease). The record of the failure is
// stored, its reply lost, and the engine then cannot reach the store for
// longer than the backoff: another engine takes the delivery once it is
// due again, and sends it, with success or not, before the first engine's
// record retry gets through. The first engine's Retried decision is
// still observed, once.
func TestFailureStoredDespiteAnErrorIsObservedOnceWhenAnotherEngineTookTheRetry(t *testing.T) {
	for _, tc := range []struct {
		name       string
		secondSend error
		second     rule.DecisionKind
	}{
		{"the other engine's send goes out", nil, rule.Delivered},
		{"the other engine's send fails too", errors.New("503 still later"), rule.Retried},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				clk := clock.NewMock()
				clk.Set(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
				mem := store.NewMemory()
				s := &cutOffAfterLoss{lostFailureReply: &lostFailureReply{Memory: mem, who: "u1"}}
				policy := connector.RetryPolicy{MaxAttempts: 5, Base: 10 * time.Second, Max: time.Hour}
				var mu sync.Mutex
				observed := map[string]map[rule.DecisionKind]int{"a": {}, "b": {}}
				observer := func(name string) connector.Observer {
					return connector.ObserverFunc(func(d rule.Decision) {
						mu.Lock()
						defer mu.Unlock()
						if d.UserID == "u1" && d.CampaignID == "now" && d.Kind != rule.Scheduled {
							observed[name][d.Kind]++
						}
					})
				}
				recA := &recorder{fail: func(d connector.Delivery) error {
					s.arm()
					return errors.New("503 try later")
				}}
				a, err := connector.New(s, recA, connector.WithClock(clk), connector.WithSendConcurrency(1),
					connector.WithRetryPolicy(policy), connector.WithDecisionLog(100, 24*time.Hour), connector.WithObserver(observer("a")))
				require.NoError(t, err)
				var bSends atomic.Int64
				recB := &recorder{fail: func(connector.Delivery) error {
					bSends.Add(1)
					return tc.secondSend
				}}
				b, err := connector.New(mem, recB, connector.WithClock(clk), connector.WithSendConcurrency(1),
					connector.WithRetryPolicy(policy), connector.WithDecisionLog(100, 24*time.Hour), connector.WithObserver(observer("b")))
				require.NoError(t, err)
				dueFor(t, a, "u1")

				done := make(chan error, 1)
				go func() {
					_, err := a.Tick(context.Background())
					done <- err
				}()
				// Past the retry's due time, within a's lease (a minute).
				for range 120 {
					synctest.Wait()
					clk.Add(100 * time.Millisecond)
				}
				synctest.Wait()
				require.True(t, s.lost, "a reply was lost")
				_, err = b.Tick(context.Background())
				require.NoError(t, err)
				require.Equal(t, int64(1), bSends.Load(), "the other engine tried the retry")
				s.mend()
				err = settle(done, clk, 100*time.Millisecond)
				t.Logf("a's Tick: %v", err)
				mu.Lock()
				defer mu.Unlock()
				require.Equal(t, map[rule.DecisionKind]int{rule.Retried: 1}, observed["a"], "a's retry is observed once")
				require.Equal(t, map[rule.DecisionKind]int{tc.second: 1}, observed["b"], "b's attempt is observed once")
				// Each engine lists its own failed attempt, once.
				require.Len(t, a.RecentFailures(), 1)
				require.Equal(t, rule.Retried, a.RecentFailures()[0].Kind)
				if tc.second == rule.Retried {
					require.Len(t, b.RecentFailures(), 1)
					require.Contains(t, b.RecentFailures()[0].Detail, "503 still later")
				} else {
					require.Empty(t, b.RecentFailures())
				}
			})
		})
	}
}
