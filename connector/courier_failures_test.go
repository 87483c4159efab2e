package connector_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
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

// recordFails is a memory store that applies each call as a SQL
// transaction would: all its ops, or none. The first times calls with an
// op recording a send to user who (its update adds a receipt) fail whole.
type recordFails struct {
	*store.Memory
	who string

	mu    sync.Mutex
	times int
}

var errRecord = errors.New("the store lost its connection while recording")

// fails reports whether a call with ops must fail, counting it if so.
func (s *recordFails) fails(ctx context.Context, ns string, ops []store.Op) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.times == 0 {
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
			s.times--
			return true
		}
	}
	return false
}

func (s *recordFails) Update(ctx context.Context, ns, userID string, now time.Time, dedup store.Dedup, fn func(*store.UserState, bool)) error {
	if s.fails(ctx, ns, []store.Op{{UserID: userID, Fn: fn}}) {
		return errRecord
	}
	return s.Memory.Update(ctx, ns, userID, now, dedup, fn)
}

func (s *recordFails) UpdateBatch(ctx context.Context, ns string, ops []store.Op) error {
	if s.fails(ctx, ns, ops) {
		for i := range ops {
			ops[i].Err = errRecord
		}
		return errRecord
	}
	return s.Memory.UpdateBatch(ctx, ns, ops)
}

// TestRecordErrorIsRetried checks that a store error while recording a
// send's outcome is retried, so that the delivery is recorded and not sent
// again, and that it affects no other delivery: those whose ops shared the
// failed store call are neither sent again nor held back.
func TestRecordErrorIsRetried(t *testing.T) {
	for _, tc := range []struct {
		name  string
		times int
	}{
		{"once: applied again alone at once", 1},
		{"three times: then after a backoff", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				clk := clock.NewMock()
				s := &recordFails{Memory: store.NewMemory(), who: "u3", times: tc.times}
				rec := &recorder{}
				var decisions []rule.Decision
				e, err := connector.New(s, rec, connector.WithClock(clk), connector.WithSendConcurrency(1),
					connector.WithObserver(connector.ObserverFunc(func(d rule.Decision) { decisions = append(decisions, d) })))
				require.NoError(t, err)
				var users []string
				for i := range 8 {
					users = append(users, fmt.Sprint("u", i))
				}
				dueFor(t, e, users...)
				n, err := tickSettled(e, clk, 10*time.Millisecond) // the retry's backoff
				require.NoError(t, err)
				require.Equal(t, 16, n)
				require.Zero(t, s.times, "the record failed as often as planned")
				delivered := 0
				for _, d := range decisions {
					require.NotEqual(t, rule.Retried, d.Kind, "%+v", d)
					if d.Kind == rule.Delivered {
						delivered++
					}
				}
				require.Equal(t, 16, delivered)
				// Nothing is left to send again once the leases are over.
				clk.Add(2 * time.Minute)
				n, err = e.Tick(context.Background())
				require.NoError(t, err)
				require.Zero(t, n)
				for id, k := range rec.byID {
					require.Equal(t, 1, k, "delivery %s sent %d times", id, k)
				}
				st, err := e.Stats(context.Background())
				require.NoError(t, err)
				require.Zero(t, st.Pending)
			})
		})
	}
}

// TestShutdownLetsTheSendInProgressFinish checks that when the context of
// Tick or Run ends during a send, the sender's context does not end: a
// sender that honours it completes, the delivery is recorded as delivered,
// and no other send starts.
func TestShutdownLetsTheSendInProgressFinish(t *testing.T) {
	for _, via := range []string{"Tick", "Run"} {
		t.Run(via, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				clk := clock.NewMock()
				started, release := make(chan string), make(chan struct{})
				send := connector.SenderFunc(func(ctx context.Context, d connector.Delivery) error {
					started <- d.UserID
					select {
					case <-ctx.Done():
						return ctx.Err()
					case <-release:
						return nil
					}
				})
				var mu sync.Mutex
				var decisions []rule.Decision
				e, err := connector.New(store.NewMemory(), send, connector.WithClock(clk), connector.WithSendConcurrency(1),
					connector.WithObserver(connector.ObserverFunc(func(d rule.Decision) {
						mu.Lock()
						decisions = append(decisions, d)
						mu.Unlock()
					})))
				require.NoError(t, err)
				dueFor(t, e, "u0", "u1")
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan error, 1)
				go func() {
					if via == "Tick" {
						_, err := e.Tick(ctx)
						done <- err
						return
					}
					done <- e.Run(ctx)
				}()
				first := <-started
				cancel()
				synctest.Wait() // a sender whose context ended has returned by now
				close(release)
				err = <-done
				if via == "Tick" {
					require.ErrorIs(t, err, context.Canceled)
				} else {
					require.NoError(t, err)
				}
				mu.Lock()
				defer mu.Unlock()
				i := slices.IndexFunc(decisions, func(d rule.Decision) bool { return d.UserID == first && d.Kind != rule.Scheduled })
				require.GreaterOrEqual(t, i, 0, "%+v", decisions)
				require.Equal(t, rule.Delivered, decisions[i].Kind, "%+v", decisions[i])
				st, err := e.Stats(context.Background())
				require.NoError(t, err)
				require.EqualValues(t, 3, st.Pending, "no other send started")
			})
		})
	}
}
