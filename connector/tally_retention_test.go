package connector_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/store"
)

// TestTallyRetentionSaysWhatThePruneKeeps checks that an engine says how
// long its prune keeps the tallies: the option's, the default, or none.
func TestTallyRetentionSaysWhatThePruneKeeps(t *testing.T) {
	for _, c := range []struct {
		opts []connector.Option
		want time.Duration
	}{
		{nil, connector.DefaultTallyRetention},
		{[]connector.Option{connector.WithTallyRetention(72 * time.Hour)}, 72 * time.Hour},
		{[]connector.Option{connector.WithoutTallies()}, 0},
	} {
		e, err := connector.New(store.NewMemory(), nopSender, c.opts...)
		require.NoError(t, err)
		require.Equal(t, c.want, e.TallyRetention())
	}
}
