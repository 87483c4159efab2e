package sqlite_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/store"
	"github.com/stretchr/testify/require"
)

// TestPruneReadsPastUsersWithNothingToPrune checks that a batch of users
// whose look-up keys are earlier than their state (as an older writer or
// a hand edit may leave them) does not stop Prune: their keys are set from
// their state, and a user after them has its expired send removed, by
// this call and not only by a later one.
func TestPruneReadsPastUsersWithNothingToPrune(t *testing.T) {
	path := testPath(t)
	s := openStore(t, path)
	ctx := context.Background()
	send := func(user string, expires time.Time) {
		require.NoError(t, s.Update(ctx, "ns", user, t0, store.Dedup{}, func(u *store.UserState, _ bool) {
			u.Sends = append(u.Sends, store.Send{CampaignID: "c", At: t0, Expires: expires})
		}))
	}
	for i := range 1000 { // a whole batch of candidates
		send(fmt.Sprintf("a%04d", i), t0.Add(time.Hour))
	}
	send("zz", t0)
	_, err := rawDB(t, path).Exec(`UPDATE campaignconnector_users SET expires_at = ? WHERE user_id <> 'zz'`, t0.Add(-time.Hour).UnixNano())
	require.NoError(t, err)

	n, err := s.Prune(ctx, "ns", t0.Add(time.Minute), t0)
	require.NoError(t, err)
	require.Equal(t, 1, n, "zz's send")
	_, err = s.User(ctx, "ns", "zz")
	require.ErrorIs(t, err, store.ErrNotFound, "zz held only the expired send")
	var stale int
	require.NoError(t, rawDB(t, path).QueryRow(`SELECT count(*) FROM campaignconnector_users WHERE expires_at <= ?`, t0.Add(time.Minute).UnixNano()).Scan(&stale))
	require.Zero(t, stale, "every key is set from its state")
	u, err := s.User(ctx, "ns", "a0000")
	require.NoError(t, err)
	require.Len(t, u.Sends, 1, "a send not yet expired is kept")
}
