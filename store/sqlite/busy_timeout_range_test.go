package sqlite_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/store/sqlite"
)

// TestBusyTimeoutSQLiteCannotHoldIsRefused: SQLite keeps its busy
// timeout as a C int of milliseconds. A longer one (25 days, past 2³¹-1
// ms) came out as no timeout at all, and one under a millisecond as
// 0 ms: both made a store on a file another process writes fail at once
// where it was asked to wait. Open refuses them, and takes the longest
// SQLite holds.
func TestBusyTimeoutSQLiteCannotHoldIsRefused(t *testing.T) {
	ctx := context.Background()
	for _, d := range []time.Duration{25 * 24 * time.Hour, 1 << 62, time.Millisecond / 2} {
		_, err := sqlite.Open(ctx, testPath(t), sqlite.WithBusyTimeout(d))
		require.ErrorIs(t, err, sqlite.ErrInvalidOption, "%v", d)
		require.ErrorContains(t, err, "busy timeout", "%v", d)
	}
	s, err := sqlite.Open(ctx, testPath(t), sqlite.WithBusyTimeout((1<<31-1)*time.Millisecond))
	require.NoError(t, err)
	require.NoError(t, s.Close())
}
