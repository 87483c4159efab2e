package connector_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/rule"
)

// apiError is a sender's error type whose Error reads a field: a nil
// *apiError returned as an error panics when asked its text.
type apiError struct{ status int }

func (e *apiError) Error() string { return "api status " + string(rune('0'+e.status)) }

// TestASendersNilPointerErrorIsASendError checks that a sender returning
// a nil pointer of its error type, as an error (a classic Go slip), has
// its send retried with an ErrSenderPanic, listed, rather than stopping
// the Tick with a panic, plain or marked permanent.
func TestASendersNilPointerErrorIsASendError(t *testing.T) {
	for _, permanent := range []bool{false, true} {
		send := connector.SenderFunc(func(context.Context, connector.Delivery) error {
			var err *apiError
			if permanent {
				return connector.Permanent(err)
			}
			return err
		})
		e, _, _ := failuresEngine(t, send, connector.WithDecisionLog(10, time.Hour))
		require.NoError(t, e.Track(context.Background(), opened("ann")))
		require.Zero(t, tick(t, e))

		got := e.RecentFailures()
		require.Len(t, got, 1)
		require.Equal(t, rule.Retried, got[0].Kind)
		require.Contains(t, got[0].Detail, "connector: sender panicked: the error it returned")
		require.Contains(t, got[0].Detail, "nil pointer dereference")
	}
}

// TestRecentFailuresKeepTheEndOfALongError checks that a long error's
// clipped text keeps what the engine adds to its end: when the next
// attempt comes, or that the failure was permanent.
func TestRecentFailuresKeepTheEndOfALongError(t *testing.T) {
	long := "provider: 503: " + strings.Repeat("<p>busy</p>", 300)
	for _, tc := range []struct {
		err  error
		kind rule.DecisionKind
		end  string
	}{
		{errors.New(long), rule.Retried, "; next attempt at 2026-03-02T09:01:00Z"},
		{connector.Permanent(errors.New(long)), rule.Failed, "<p>busy</p> (permanent: not retried)"},
	} {
		e, _, _ := failuresEngine(t, connector.SenderFunc(func(context.Context, connector.Delivery) error { return tc.err }))
		require.NoError(t, e.Track(context.Background(), opened("ann")))
		require.Zero(t, tick(t, e))
		got := e.RecentFailures()
		require.Len(t, got, 1)
		require.Equal(t, tc.kind, got[0].Kind)
		require.True(t, strings.HasPrefix(got[0].Detail, "provider: 503: <p>busy</p>"), got[0].Detail)
		require.True(t, strings.HasSuffix(got[0].Detail, tc.end), got[0].Detail)
		require.Contains(t, got[0].Detail, " bytes in all)")
		require.Less(t, len(got[0].Detail), 1100)
	}
}

// TestRecentFailuresClipBinaryErrors checks that an error quoting bytes
// that are not UTF-8 (a compressed reply) keeps a kibibyte of them, as it
// does of text, rather than the few bytes before them.
func TestRecentFailuresClipBinaryErrors(t *testing.T) {
	long := "provider replied: " + strings.Repeat("\x8b\x80\xbf", 1000)
	e, _, _ := failuresEngine(t, connector.SenderFunc(func(context.Context, connector.Delivery) error {
		return connector.Permanent(errors.New(long))
	}))
	require.NoError(t, e.Track(context.Background(), opened("ann")))
	require.Zero(t, tick(t, e))
	got := e.RecentFailures()
	require.Len(t, got, 1)
	require.Greater(t, len(got[0].Detail), 900, "%q", got[0].Detail)
	require.Less(t, len(got[0].Detail), 1100)
	require.True(t, strings.HasPrefix(got[0].Detail, "provider replied: \x8b\x80\xbf"))
}
