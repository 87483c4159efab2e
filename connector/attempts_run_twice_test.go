package connector_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/store"
)

// rerunStore runs every update on a copy of the user's state first (its
// writes thrown away), then for real: a serialization retry. lose makes
// each batch of more than one op report failure after it is applied.
type rerunStore struct {
	*store.Memory
	lose  atomic.Bool
	calls atomic.Int64
}

func twice(fn func(*store.UserState, bool)) func(*store.UserState, bool) {
	return func(u *store.UserState, dup bool) {
		c := u.Clone()
		fn(&c, dup)
		fn(u, dup)
	}
}

func (s *rerunStore) Update(ctx context.Context, ns, user string, now time.Time, d store.Dedup, fn func(*store.UserState, bool)) error {
	s.calls.Add(1)
	return s.Memory.Update(ctx, ns, user, now, d, twice(fn))
}

func (s *rerunStore) UpdateBatch(ctx context.Context, ns string, ops []store.Op) error {
	s.calls.Add(1)
	fns := make([]func(*store.UserState, bool), len(ops))
	for i := range ops {
		fns[i] = ops[i].Fn
		ops[i].Fn = twice(fns[i])
	}
	err := s.Memory.UpdateBatch(ctx, ns, ops)
	for i := range ops {
		ops[i].Fn = fns[i]
	}
	if err != nil || len(ops) < 2 || !s.lose.Load() {
		return err
	}
	for i := range ops {
		ops[i].Err = errLostShared
	}
	return errLostShared
}

// attemptsOf returns the attempts l sent, by user and campaign.
func attemptsOf(l *sendLog) map[string][]int {
	m := map[string][]int{}
	for _, d := range l.sends() {
		k := d.UserID + "/" + d.CampaignID
		m[k] = append(m[k], d.Attempt)
	}
	for _, v := range m {
		sort.Ints(v)
	}
	return m
}

// tickFor runs Ticks of e, two minutes apart (past the lease), for long
// enough to send everything due and its retries.
func tickFor(e *connector.Engine) {
	for range 50 {
		_, _ = e.Tick(context.Background())
		time.Sleep(2 * time.Minute)
	}
}

// Sends that keep failing, on a store that runs each update twice (as
// PostgreSQL does after a serialization failure) and, with lose, loses
// the answer of every shared call, go as attempts 1 to MaxAttempts.
func TestFailingSendsRunTwiceKeepTheirRetryBudget(t *testing.T) {
	for _, lose := range []bool{false, true} {
		t.Run(fmt.Sprint("lose=", lose), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := &rerunStore{Memory: store.NewMemory()}
				s.lose.Store(lose)
				l := &sendLog{answer: errors.New("down")}
				e, err := connector.New(s, l, connector.WithSendConcurrency(1),
					connector.WithRetryPolicy(connector.RetryPolicy{MaxAttempts: 3, Base: time.Second, Max: time.Second}),
					connector.WithLogger(slog.New(slog.DiscardHandler)))
				require.NoError(t, err)
				dueFor(t, e, "u1", "u2")
				tickFor(e)
				m := attemptsOf(l)
				require.Len(t, m, 4)
				for k, v := range m {
					require.Equal(t, []int{1, 2, 3}, v, k)
				}
			})
		})
	}
}

// A delivery an engine confirmed as attempt 1 and never recorded (it
// died) goes as attempt 2, and its retries end at MaxAttempts, on a store
// that runs each update twice and, with lose, loses shared answers.
func TestAnAttemptNeverRecordedCountsOnceRunTwice(t *testing.T) {
	for _, lose := range []bool{false, true} {
		t.Run(fmt.Sprint("lose=", lose), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := &rerunStore{Memory: store.NewMemory()}
				l := &sendLog{answer: errors.New("down")}
				e, err := connector.New(s, l, connector.WithSendConcurrency(1),
					connector.WithRetryPolicy(connector.RetryPolicy{MaxAttempts: 3, Base: time.Second, Max: time.Second}),
					connector.WithLogger(slog.New(slog.DiscardHandler)))
				require.NoError(t, err)
				dueFor(t, e, "u1", "u2")
				now := time.Now()
				for _, u := range []string{"u1", "u2"} {
					require.NoError(t, s.Memory.Update(context.Background(), "", u, now, store.Dedup{}, func(us *store.UserState, _ bool) {
						for _, p := range us.Pending {
							p.Sending, p.Attempt, p.Token, p.ReadyAt = true, 1, 42, now
						}
					}))
				}
				s.lose.Store(lose)
				tickFor(e)
				m := attemptsOf(l)
				require.Len(t, m, 4)
				for k, v := range m {
					require.Equal(t, []int{2, 3}, v, k)
				}
			})
		})
	}
}
