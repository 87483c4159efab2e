package connector_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
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

// gatedSender holds each send until the test answers it: answer[i] ends
// the i-th call with the error sent.
type gatedSender struct {
	mu     sync.Mutex
	answer []chan error
}

func (s *gatedSender) Send(context.Context, connector.Delivery) error {
	ch := make(chan error)
	s.mu.Lock()
	s.answer = append(s.answer, ch)
	s.mu.Unlock()
	return <-ch
}

func (s *gatedSender) calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.answer)
}

// takenLease runs one delivery into two sends at once: engine a claims it
// and its send hangs past the lease (the store fails the renewals), then
// engine b claims it and sends it too. The two sends end at the same
// instant with a's and b's answers, b's recorded first when bFirst is set,
// a's otherwise. It returns the decisions the observers saw about the
// delivery's sends and those the user's log kept (the engines keep none
// when noLog is set).
func takenLease(t *testing.T, aErr, bErr error, bFirst, noLog bool) (seen, logged []rule.Decision) {
	t.Helper()
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		clk := clock.NewMock()
		s := &noRenewals{Memory: store.NewMemory()}
		send := &gatedSender{}
		o := &outcomes{}
		var engines []*connector.Engine
		for range 2 {
			opts := []connector.Option{connector.WithClock(clk), connector.WithLease(time.Minute),
				connector.WithObserver(connector.ObserverFunc(o.observe)),
				connector.WithRetryPolicy(connector.RetryPolicy{MaxAttempts: 5, Base: time.Minute, Max: time.Hour})}
			if !noLog {
				opts = append(opts, connector.WithDecisionLog(100, 24*time.Hour))
			}
			e, err := connector.New(s, send, opts...)
			require.NoError(t, err)
			engines = append(engines, e)
		}
		waitingUsers(t, engines[0], clk, 1)
		var ticks sync.WaitGroup
		tick := func(e *connector.Engine) {
			ticks.Go(func() {
				if _, err := e.Tick(ctx); err != nil {
					t.Error(err)
				}
			})
		}
		tick(engines[0])
		synctest.Wait()
		require.Equal(t, 1, send.calls(), "engine a sends")
		clk.Add(2 * time.Minute) // a's lease ends: the store failed its renewal
		synctest.Wait()
		require.Positive(t, s.failed.Load(), "renewals failed")
		tick(engines[1])
		synctest.Wait()
		require.Equal(t, 2, send.calls(), "engine b sends the delivery whose lease ran out")
		first, second := send.answer[0], send.answer[1]
		firstErr, secondErr := aErr, bErr
		if bFirst {
			first, second, firstErr, secondErr = second, first, bErr, aErr
		}
		first <- firstErr
		synctest.Wait() // its record is stored
		second <- secondErr
		ticks.Wait()
		st, err := s.User(ctx, "", "u0")
		require.NoError(t, err)
		seen, logged = o.all(), loggedOutcomes(st)
	})
	return seen, logged
}

func kindsOf(ds []rule.Decision) map[rule.DecisionKind]int {
	n := map[rule.DecisionKind]int{}
	for _, d := range ds {
		n[d.Kind]++
	}
	return n
}

// TestTwoSendsOfATakenLeaseAreBothLogged checks that when the delivery
// whose lease ran out during its send is sent again by another engine and
// both sends end at the same instant, each has its delivered decision in
// the user's log, not only with the observers: the second record does not
// take the first one's receipt for its own.
func TestTwoSendsOfATakenLeaseAreBothLogged(t *testing.T) {
	for _, bFirst := range []bool{false, true} {
		seen, logged := takenLease(t, nil, nil, bFirst, false)
		require.Equal(t, map[rule.DecisionKind]int{rule.Delivered: 2}, kindsOf(seen), "b first %v, observed: %v", bFirst, seen)
		require.Equal(t, map[rule.DecisionKind]int{rule.Delivered: 2}, kindsOf(logged), "b first %v, logged: %v", bFirst, logged)
	}
}

// TestAFailedSendOfATakenLeaseHasAnOutcome checks that a send that fails
// after its lease ran out, while another engine sends the delivery, is
// recorded as retried, in the log and for the observers: every attempt
// has one outcome. In particular, the engine holding the lease whose send
// fails after the other one's went through does not take the delivery's
// removal for a stop's.
func TestAFailedSendOfATakenLeaseHasAnOutcome(t *testing.T) {
	down := errors.New("provider down")
	for _, c := range []struct {
		name       string
		aErr, bErr error
		bFirst     bool
		detail     string // the retried decision's, after the error
	}{
		{"a fails, recorded first", down, nil, false, "another engine took the delivery"},
		{"a fails, recorded last", down, nil, true, "another engine's send delivered it meanwhile"},
		{"b fails, recorded first", nil, down, true, "next attempt at"},
		{"b fails, recorded last", nil, down, false, "another engine's send delivered it meanwhile"},
		{"both fail", down, down, false, "another engine took the delivery"},
	} {
		for _, noLog := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s, no log %v", c.name, noLog), func(t *testing.T) {
				seen, logged := takenLease(t, c.aErr, c.bErr, c.bFirst, noLog)
				want := map[rule.DecisionKind]int{rule.Delivered: 1, rule.Retried: 1}
				if c.aErr != nil && c.bErr != nil {
					want = map[rule.DecisionKind]int{rule.Retried: 2}
				}
				require.Equal(t, want, kindsOf(seen), "observed: %v", seen)
				if noLog {
					want = map[rule.DecisionKind]int{}
				}
				require.Equal(t, want, kindsOf(logged), "logged: %v", logged)
				found := false
				for _, d := range seen {
					found = found || d.Kind == rule.Retried && strings.Contains(d.Detail, "provider down; ") && strings.Contains(d.Detail, c.detail)
				}
				require.True(t, found, "no retried decision saying %q: %v", c.detail, seen)
			})
		}
	}
}
