package connector_test

import (
	"context"
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
