package sqlite_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/store"
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

// A user whose pending delivery this version cannot read fails only its
// own updates in a batch (a TrackAll's events, a Tick's group): the other
// users' updates are applied, and the failed update's event ID is not
// remembered, so that the host's retry is not taken for a duplicate.
func TestBatchIsolatesAUserItCannotRead(t *testing.T) {
	path := testPath(t)
	s := openStore(t, path)
	ctx := context.Background()
	schedule(t, s, "ns", "ann", "d-ann", t0)
	_, err := rawDB(t, path).Exec(`UPDATE campaignconnector_pending SET data = replace(data, '"email_received"', '"whatsapp_read"') WHERE id = 'd-ann'`)
	require.NoError(t, err)

	keep := store.Dedup{KeepUntil: t0.Add(time.Hour)}
	add := func(user string) func(u *store.UserState, dup bool) {
		return func(u *store.UserState, dup bool) {
			if !dup {
				u.Pending = append(u.Pending, newPending(user, "f", "new-"+user, t0.Add(time.Hour)))
			}
		}
	}
	op := func(user, id string) store.Op {
		d := keep
		d.EventID = id
		return store.Op{UserID: user, Now: t0, Dedup: d, Fn: add(user)}
	}
	ops := []store.Op{op("bob", "e1"), op("ann", "e2"), op("cat", "e3"), op("ann", "e4")}
	err = s.UpdateBatch(ctx, "ns", ops)
	require.ErrorContains(t, err, "whatsapp_read")
	require.NoError(t, ops[0].Err)
	require.NoError(t, ops[2].Err)
	require.ErrorContains(t, ops[1].Err, "whatsapp_read")
	require.ErrorContains(t, ops[3].Err, "whatsapp_read")
	for _, user := range []string{"bob", "cat"} {
		u, err := s.User(ctx, "ns", user)
		require.NoError(t, err)
		require.Len(t, u.Pending, 1, user)
	}

	// Once ann's delivery is readable (the newer version sent it), her
	// event is new, not a duplicate.
	_, err = rawDB(t, path).Exec(`DELETE FROM campaignconnector_pending WHERE id = 'd-ann'`)
	require.NoError(t, err)
	require.NoError(t, s.Update(ctx, "ns", "ann", t0, store.Dedup{EventID: "e2", KeepUntil: keep.KeepUntil}, add("ann")))
	u, err := s.User(ctx, "ns", "ann")
	require.NoError(t, err)
	require.Len(t, u.Pending, 1, "the retried event was taken for a duplicate")
}

// Update on a user whose pending delivery this version cannot read fails,
// changes nothing and does not remember the event's ID.
func TestUpdateOfAUserItCannotReadChangesNothing(t *testing.T) {
	path := testPath(t)
	s := openStore(t, path)
	ctx := context.Background()
	schedule(t, s, "ns", "ann", "d-ann", t0)
	_, err := rawDB(t, path).Exec(`UPDATE campaignconnector_pending SET data = replace(data, '"email_received"', '"whatsapp_read"') WHERE id = 'd-ann'`)
	require.NoError(t, err)
	ran := false
	dedup := store.Dedup{EventID: "e1", KeepUntil: t0.Add(time.Hour)}
	err = s.Update(ctx, "ns", "ann", t0, dedup, func(*store.UserState, bool) { ran = true })
	require.ErrorContains(t, err, "whatsapp_read")
	require.False(t, ran, "the update function ran on a state missing a delivery")
	var n int
	require.NoError(t, rawDB(t, path).QueryRow(`SELECT count(*) FROM campaignconnector_seen`).Scan(&n))
	require.Zero(t, n, "the failed update remembered its event ID")
}
