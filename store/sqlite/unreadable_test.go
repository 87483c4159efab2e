package sqlite_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/store/sqlite"
	"github.com/stretchr/testify/require"
)

// A pending delivery this version cannot read (written by a newer one
// during a rolling upgrade, with an event kind this one does not know)
// does not stop the others: Claim hands out the rest, leaves that one in
// the queue, leased, for a process that can read it, and logs it.
func TestClaimLeavesADeliveryItCannotReadToOthers(t *testing.T) {
	path := testPath(t)
	var log strings.Builder
	s := openStore(t, path, sqlite.WithLogger(slog.New(slog.NewTextHandler(&log, nil))))
	ctx := context.Background()
	schedule(t, s, "ns", "ann", "d-ann", t0)
	schedule(t, s, "ns", "bob", "d-bob", t0.Add(time.Second))
	_, err := rawDB(t, path).Exec(`UPDATE campaignconnector_pending SET data = replace(data, '"email_received"', '"whatsapp_read"') WHERE id = 'd-ann'`)
	require.NoError(t, err)

	claims, err := s.Claim(ctx, "ns", t0.Add(time.Minute), time.Minute, 10, 7)
	require.NoError(t, err, "one unreadable delivery stops every claim of the namespace")
	require.Len(t, claims, 1)
	require.Equal(t, "d-bob", claims[0].Pending.ID)
	require.Contains(t, log.String(), "d-ann")
	st, err := s.Stats(ctx, "ns")
	require.NoError(t, err)
	require.EqualValues(t, 2, st.Pending, "the unreadable delivery stays in the queue")
	none, err := s.Claim(ctx, "ns", t0.Add(time.Minute), time.Minute, 10, 8)
	require.NoError(t, err)
	require.Empty(t, none, "it is leased like the others")
}
