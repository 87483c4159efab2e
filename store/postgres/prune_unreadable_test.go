package postgres_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/store"
	"github.com/campaignconnector/campaignconnector/store/postgres"
	"github.com/stretchr/testify/require"
)

// TestPruneSkipsAUserItCannotRead checks that users whose state this
// version cannot read (here damaged rows; a newer version's state reads
// the same) are left as they are, while every other user of the namespace
// is pruned: Prune does not fail on them, call after call, reads past them
// when they are more than a batch of candidates (1,000) and come first in
// expiry order, and reads (and logs) each again only an hour later.
func TestPruneSkipsAUserItCannotRead(t *testing.T) {
	ctx := context.Background()
	schema := testSchema(t)
	var log strings.Builder
	s := openStore(t, postgres.WithSchema(schema), postgres.WithLogger(slog.New(slog.NewTextHandler(&log, nil))))
	const ns = "prune-unreadable"
	users := []string{"b-ok", "c-ok"}
	for i := range 1001 {
		users = append(users, fmt.Sprintf("a-damaged-%04d", i))
	}
	for _, user := range users {
		expires := t0.Add(time.Hour)
		if strings.HasPrefix(user, "a-damaged") {
			expires = t0.Add(time.Minute) // first in expiry order
		}
		require.NoError(t, s.Update(ctx, ns, user, t0, store.Dedup{}, func(u *store.UserState, _ bool) {
			u.Receipts = append(u.Receipts, store.Receipt{CampaignID: "c", At: t0, Expires: expires})
		}))
	}
	_, err := s.Pool().Exec(ctx, `UPDATE `+tableIn(schema, "users")+` SET body = substring(body from 1 for 3) WHERE user_id LIKE 'a-damaged%'`)
	require.NoError(t, err)

	logged := func() int { return strings.Count(log.String(), "user=a-damaged-0000 ") }
	for range 2 {
		_, err := s.Prune(ctx, ns, t0.Add(2*time.Hour), t0)
		require.NoError(t, err)
	}
	require.Equal(t, 1, logged(), "read once, then left for an hour")
	require.Equal(t, 1001, strings.Count(log.String(), "prune skips a user"))
	_, err = s.Prune(ctx, ns, t0.Add(3*time.Hour+time.Second), t0)
	require.NoError(t, err)
	require.Equal(t, 2, logged(), "read again an hour later")
	for _, user := range []string{"b-ok", "c-ok"} {
		_, err := s.User(ctx, ns, user)
		require.ErrorIs(t, err, store.ErrNotFound, "%s, whose only receipt expired, is pruned", user)
	}
	_, err = s.User(ctx, ns, "a-damaged-0000")
	require.ErrorContains(t, err, "a-damaged-0000", "the damaged row is left, and named when read")
}

// TestPruneReadsPastUsersWithNothingToPrune checks that a batch of users
// whose look-up keys are earlier than their state (as an older writer or
// a hand edit may leave them) does not hold Prune back: their keys are set
// from their state, and a user after them in expiry order has its expired
// send removed by the same call.
func TestPruneReadsPastUsersWithNothingToPrune(t *testing.T) {
	ctx := context.Background()
	schema := testSchema(t)
	s := openStore(t, postgres.WithSchema(schema))
	const ns = "prune-stale-keys"
	send := func(user string, expires time.Time) {
		require.NoError(t, s.Update(ctx, ns, user, t0, store.Dedup{}, func(u *store.UserState, _ bool) {
			u.Sends = append(u.Sends, store.Send{CampaignID: "c", At: t0, Expires: expires})
		}))
	}
	for i := range 1001 { // more than a batch of candidates
		send(fmt.Sprintf("a%04d", i), t0.Add(time.Hour))
	}
	send("zz", t0)
	users := tableIn(schema, "users")
	_, err := s.Pool().Exec(ctx, `UPDATE `+users+` SET expires_at = $1 WHERE user_id <> 'zz'`, t0.Add(-time.Hour))
	require.NoError(t, err)

	n, err := s.Prune(ctx, ns, t0.Add(time.Minute), t0)
	require.NoError(t, err)
	require.Equal(t, 1, n, "zz's send")
	_, err = s.User(ctx, ns, "zz")
	require.ErrorIs(t, err, store.ErrNotFound, "zz held only the expired send")
	var stale int
	require.NoError(t, s.Pool().QueryRow(ctx, `SELECT count(*) FROM `+users+` WHERE expires_at <= $1`, t0.Add(time.Minute)).Scan(&stale))
	require.Zero(t, stale, "every key is set from its state")
	u, err := s.User(ctx, ns, "a0000")
	require.NoError(t, err)
	require.Len(t, u.Sends, 1, "a send not yet expired is kept")
}
