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

// steppedBack is a server clock whose first reading sees the engine's
// clock stepped back by an hour during its round trip (a clock set by
// hand, or a host's Clock without a monotonic reading when NTP corrects
// it), and whose later readings take the round trips they are given.
type steppedBack struct {
	serverClock
}

func (s *steppedBack) ServerNow(ctx context.Context) (time.Time, error) {
	if s.reads == 0 {
		s.reads++
		server := s.clk.Now()
		s.clk.Add(-time.Hour)
		return server, nil
	}
	return s.serverClock.ServerNow(ctx)
}

// TestClockSkewIgnoresAReadingTheClockSteppedBackDuring checks that a
// reading during which the engine's clock went back, whose round trip is
// negative, is not taken for the shortest: it says nothing of the skew.
func TestClockSkewIgnoresAReadingTheClockSteppedBackDuring(t *testing.T) {
	clk := clock.NewMock()
	s := &steppedBack{serverClock{Memory: store.NewMemory(), clk: clk,
		roundTrips: []time.Duration{0, 4 * time.Millisecond, 6 * time.Millisecond},
		skews:      []time.Duration{0, 2 * time.Second, 3 * time.Second}}}
	e := newEngine(t, s, connector.SenderFunc(func(context.Context, connector.Delivery) error { return nil }), clk)
	skew, err := e.ClockSkew(context.Background())
	require.NoError(t, err)
	require.Equal(t, 2*time.Second, skew, "the reading with the shortest non-negative round trip")
}

// backwards is a server clock during each reading of which the engine's
// clock goes back a second.
type backwards struct{ clk *clock.Mock }

func (b backwards) ServerNow(context.Context) (time.Time, error) {
	t := b.clk.Now()
	b.clk.Add(-time.Second)
	return t, nil
}

// TestClockSkewErrsWhenTheClockWentBackEachTime checks that ClockSkew
// gives an error, not a figure, when the engine's clock went back during
// every reading.
func TestClockSkewErrsWhenTheClockWentBackEachTime(t *testing.T) {
	clk := clock.NewMock()
	s := struct {
		*store.Memory
		backwards
	}{store.NewMemory(), backwards{clk}}
	e := newEngine(t, s, connector.SenderFunc(func(context.Context, connector.Delivery) error { return nil }), clk)
	_, err := e.ClockSkew(context.Background())
	require.ErrorContains(t, err, "went back during every reading")
}
