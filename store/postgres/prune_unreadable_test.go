package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/store"
	"github.com/campaignconnector/campaignconnector/store/postgres"
	"github.com/stretchr/testify/require"
)

// TestPruneSkipsAUserItCannotRead checks that one user whose state this
// version cannot read (here a damaged row; a newer version's state reads
// the same) is left as it is, while every other user of the namespace is
// pruned: Prune does not fail on it, call after call.
func TestPruneSkipsAUserItCannotRead(t *testing.T) {
	ctx := context.Background()
	schema := testSchema(t)
	s := openStore(t, postgres.WithSchema(schema))
	const ns = "prune-unreadable"
	for _, user := range []string{"a-damaged", "b-ok", "c-ok"} {
		require.NoError(t, s.Update(ctx, ns, user, t0, store.Dedup{}, func(u *store.UserState, _ bool) {
			u.Receipts = append(u.Receipts, store.Receipt{CampaignID: "c", At: t0, Expires: t0.Add(time.Hour)})
		}))
	}
	_, err := s.Pool().Exec(ctx, `UPDATE `+tableIn(schema, "users")+` SET body = substring(body from 1 for 3) WHERE user_id = 'a-damaged'`)
	require.NoError(t, err)

	for range 2 {
		_, err := s.Prune(ctx, ns, t0.Add(2*time.Hour), t0)
		require.NoError(t, err)
	}
	for _, user := range []string{"b-ok", "c-ok"} {
		_, err := s.User(ctx, ns, user)
		require.ErrorIs(t, err, store.ErrNotFound, "%s, whose only receipt expired, is pruned", user)
	}
	_, err = s.User(ctx, ns, "a-damaged")
	require.ErrorContains(t, err, "a-damaged", "the damaged row is left, and named when read")
}
