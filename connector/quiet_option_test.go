package connector_test

import (
	"context"
	"testing"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/stretchr/testify/require"
)

// Quiet hours with a bound rule.At could not make (At(25, 0), At(8, 60))
// are refused with an error that names the bound, not only "two
// different times of day", which the two bounds are.
func TestQuietHoursNameTheBoundThatIsNoTimeOfDay(t *testing.T) {
	for _, c := range []struct {
		q    connector.QuietHours
		want string
	}{
		{connector.QuietHours{From: rule.At(25, 0), To: rule.At(8, 0)}, "From is not a time of day (rule.At gives TimeOfDay(-1) for an hour outside 0–23 or a minute outside 0–59)"},
		{connector.QuietHours{From: rule.At(22, 0), To: rule.At(8, 60)}, "To is not a time of day (rule.At gives TimeOfDay(-1)"},
		{connector.QuietHours{From: rule.At(22, 0), To: rule.TimeOfDay(24 * 60)}, "To is not a time of day (0 to 1439 minutes after midnight)"},
	} {
		_, err := connector.New(store.NewMemory(), connector.SenderFunc(func(context.Context, connector.Delivery) error { return nil }),
			connector.WithQuietHours(c.q))
		require.ErrorIs(t, err, connector.ErrInvalidOption)
		require.ErrorContains(t, err, "quiet hours need two different times of day") // the message as it was
		require.ErrorContains(t, err, c.want)
	}
	// Equal bounds say nothing more.
	_, err := connector.New(store.NewMemory(), connector.SenderFunc(func(context.Context, connector.Delivery) error { return nil }),
		connector.WithQuietHours(connector.QuietHours{From: rule.At(9, 0), To: rule.At(9, 0)}))
	require.ErrorIs(t, err, connector.ErrInvalidOption)
	require.NotContains(t, err.Error(), "is not a time of day")
}
