package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/store"
)

// TestClockSkewAgainstTheServer checks ServerNow and the engine's
// ClockSkew on a real server: an engine whose clock reads a minute ahead
// of this host's (the server's host) measures a skew of a minute, less
// the moments between setting its clock and the server's reading.
func TestClockSkewAgainstTheServer(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	before := time.Now()
	server, err := s.ServerNow(ctx)
	require.NoError(t, err)
	require.False(t, server.Before(before.Truncate(time.Microsecond)), "the server's time %v precedes the call's %v", server, before)

	clk := clock.NewMock()
	clk.Set(time.Now().Add(time.Minute)) // a mock clock does not move: no round trip is seen
	e, err := connector.New(s, connector.SenderFunc(func(context.Context, connector.Delivery) error { return nil }),
		connector.WithClock(clk))
	require.NoError(t, err)
	skew, err := e.ClockSkew(ctx)
	require.NoError(t, err)
	require.LessOrEqual(t, skew, time.Minute+time.Microsecond)
	require.Greater(t, skew, 50*time.Second, "the readings took 10 s")

	s.Close()
	_, err = s.ServerNow(ctx)
	require.ErrorIs(t, err, store.ErrClosed)
}
