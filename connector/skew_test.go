package connector_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/store"
)

// serverClock is a memory store with a server clock: each reading takes
// the round trip it is given in turn, on the engine's mock clock, and the
// server's time is read halfway through, off the engine's by the skew it
// is given in turn.
type serverClock struct {
	*store.Memory
	clk        *clock.Mock
	roundTrips []time.Duration
	skews      []time.Duration // engine minus server
	err        error
	reads      int
}

func (s *serverClock) ServerNow(context.Context) (time.Time, error) {
	if s.err != nil {
		return time.Time{}, s.err
	}
	i := s.reads % len(s.roundTrips)
	s.reads++
	s.clk.Add(s.roundTrips[i] / 2)
	server := s.clk.Now().Add(-s.skews[i])
	s.clk.Add(s.roundTrips[i] / 2)
	return server, nil
}

// TestClockSkewKeepsTheShortestRoundTrip checks that ClockSkew reads the
// server's clock three times and keeps the reading with the shortest
// round trip, whose skew is the most precise.
func TestClockSkewKeepsTheShortestRoundTrip(t *testing.T) {
	clk := clock.NewMock()
	s := &serverClock{Memory: store.NewMemory(), clk: clk,
		roundTrips: []time.Duration{30 * time.Millisecond, 4 * time.Millisecond, 12 * time.Millisecond},
		skews:      []time.Duration{9 * time.Second, 7 * time.Second, -2 * time.Second}}
	e := newEngine(t, s, connector.SenderFunc(func(context.Context, connector.Delivery) error { return nil }), clk)
	skew, err := e.ClockSkew(context.Background())
	require.NoError(t, err)
	require.Equal(t, 7*time.Second, skew)
	require.Equal(t, 3, s.reads)

	s.skews = []time.Duration{-3 * time.Second, -1500 * time.Millisecond, -time.Hour}
	s.roundTrips = []time.Duration{time.Millisecond, 2 * time.Millisecond, 3 * time.Millisecond}
	skew, err = e.ClockSkew(context.Background())
	require.NoError(t, err)
	require.Equal(t, -3*time.Second, skew, "behind the server: negative")
}

// TestClockSkewErrors checks that a store without a server clock gives
// ErrNoServerClock, and a failed reading the store's error.
func TestClockSkewErrors(t *testing.T) {
	send := connector.SenderFunc(func(context.Context, connector.Delivery) error { return nil })
	e := newEngine(t, store.NewMemory(), send, clock.NewMock())
	_, err := e.ClockSkew(context.Background())
	require.ErrorIs(t, err, connector.ErrNoServerClock)

	down := errors.New("server down")
	clk := clock.NewMock()
	e = newEngine(t, &serverClock{Memory: store.NewMemory(), clk: clk, err: down}, send, clk)
	_, err = e.ClockSkew(context.Background())
	require.ErrorIs(t, err, down)
}
