package sqlite_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/campaignconnector/campaignconnector/store/sqlite"
	"github.com/stretchr/testify/require"
)

// A read that needs the reading connections after Close closed them (the
// second page of the interaction log, read after Close) fails with
// store.ErrClosed, as a call after Close does, not with database/sql's
// "database is closed".
func TestReadCutShortByCloseReturnsErrClosed(t *testing.T) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, testPath(t))
	require.NoError(t, err)
	evs := make([]event.Event, 1001) // more than a page of the log
	for i := range evs {
		evs[i] = event.Event{ID: fmt.Sprint("e", i), UserID: "ann", Kind: event.EmailOpened, CampaignID: "newsletter",
			Time: t0.Add(time.Duration(i) * time.Second)}
	}
	require.NoError(t, s.AppendInteractions(ctx, "ns", evs, t0.Add(time.Hour)))

	seen := 0
	err = s.Interactions(ctx, "ns", store.InteractionQuery{}, func(event.Event) bool {
		if seen++; seen == 1 {
			require.NoError(t, s.Close())
		}
		return true
	})
	require.ErrorIs(t, err, store.ErrClosed)
	require.Equal(t, 1000, seen, "the first page, read before Close, was handed over")

	_, err = s.User(ctx, "ns", "ann")
	require.ErrorIs(t, err, store.ErrClosed)
}
