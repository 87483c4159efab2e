package sqlite_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
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

// CancelCampaign removes the deliveries it can read and leaves one it
// cannot (a newer version's) in the queue, logged: a stop does not fail
// while an upgrade is under way.
func TestCancelCampaignLeavesADeliveryItCannotReadToOthers(t *testing.T) {
	path := testPath(t)
	var log strings.Builder
	s := openStore(t, path, sqlite.WithLogger(slog.New(slog.NewTextHandler(&log, nil))))
	ctx := context.Background()
	schedule(t, s, "ns", "ann", "d-ann", t0)
	schedule(t, s, "ns", "bob", "d-bob", t0.Add(time.Second))
	schedule(t, s, "ns", "cat", "d-cat", t0.Add(2*time.Second))
	_, err := rawDB(t, path).Exec(`UPDATE campaignconnector_pending SET data = replace(data, '"email_received"', '"whatsapp_read"') WHERE id = 'd-bob'`)
	require.NoError(t, err)

	removed, err := s.CancelCampaign(ctx, "ns", "f")
	require.NoError(t, err, "one unreadable delivery fails the stop of its campaign")
	var ids []string
	for _, c := range removed {
		ids = append(ids, c.Pending.ID)
		require.Equal(t, event.EmailReceived, c.Pending.Trigger.Kind, "a removed delivery is returned whole")
	}
	require.ElementsMatch(t, []string{"d-ann", "d-cat"}, ids)
	require.Contains(t, log.String(), "d-bob")
	for _, user := range []string{"ann", "cat"} {
		_, err := s.User(ctx, "ns", user)
		require.ErrorIs(t, err, store.ErrNotFound, "%s's delivery, all the store held of %[1]s, is removed", user)
	}
	st, err := s.Stats(ctx, "ns")
	require.NoError(t, err)
	require.EqualValues(t, 1, st.Pending, "the unreadable delivery stays in the queue")
}

// A stop while a delivery of the campaign is one this version cannot read
// succeeds; the delivery, once a version that reads it claims it, is
// cancelled, not sent.
func TestStopWithADeliveryThisVersionCannotRead(t *testing.T) {
	path := testPath(t)
	ctx := context.Background()
	clk := clock.NewMock()
	clk.Set(t0)
	sent := &sentIDs{}
	e, err := connector.New(openStore(t, path), sent, connector.WithClock(clk), connector.WithNamespace("ns"))
	require.NoError(t, err)
	require.NoError(t, e.Apply(ctx, []rule.Campaign{{ID: "news"}, {ID: "f",
		Triggers: []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "news"}}, Delay: rule.After(time.Hour)}}))
	for _, user := range []string{"ann", "bob"} {
		require.NoError(t, e.Track(ctx, event.Event{ID: "r-" + user, UserID: user, Kind: event.EmailReceived, CampaignID: "news", Time: t0}))
	}
	db := rawDB(t, path)
	_, err = db.Exec(`UPDATE campaignconnector_pending SET data = replace(data, '"email_received"', '"whatsapp_read"') WHERE user_id = 'ann'`)
	require.NoError(t, err)

	require.NoError(t, e.Stop(ctx, "f"), "a delivery of a newer version fails the stop")
	st, err := e.Stats(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 1, st.Pending, "ann's delivery waits for a version that reads it")

	// The newer version, which reads it, claims it when it is due.
	_, err = db.Exec(`UPDATE campaignconnector_pending SET data = replace(data, '"whatsapp_read"', '"email_received"') WHERE user_id = 'ann'`)
	require.NoError(t, err)
	clk.Add(time.Hour)
	n, err := e.Tick(ctx)
	require.NoError(t, err)
	require.Zero(t, n)
	require.Empty(t, sent.ids, "a delivery of a stopped campaign was sent")
	st, err = e.Stats(ctx)
	require.NoError(t, err)
	require.Zero(t, st.Pending)
}

// TestPruneSkipsAUserItCannotRead checks that users whose state this
// version cannot read (damaged rows; a newer version's state reads the
// same) are left as they are by Prune and logged, while every other user
// of the namespace is pruned, call after call, even when they are more
// than a batch of candidates (1,000) and come first in the table; each is
// read (and logged) again only an hour later.
func TestPruneSkipsAUserItCannotRead(t *testing.T) {
	path := testPath(t)
	var log strings.Builder
	s := openStore(t, path, sqlite.WithLogger(slog.New(slog.NewTextHandler(&log, nil))))
	ctx := context.Background()
	var users []string
	for i := range 1001 {
		users = append(users, fmt.Sprintf("a-damaged-%04d", i))
	}
	users = append(users, "b-ok", "c-ok")
	for _, user := range users {
		require.NoError(t, s.Update(ctx, "ns", user, t0, store.Dedup{}, func(u *store.UserState, _ bool) {
			u.Receipts = append(u.Receipts, store.Receipt{CampaignID: "c", At: t0, Expires: t0.Add(time.Hour)})
		}))
	}
	_, err := rawDB(t, path).Exec(`UPDATE campaignconnector_users SET state = '{"receipts":[' WHERE user_id LIKE 'a-damaged%'`)
	require.NoError(t, err)

	logged := func() int { return strings.Count(log.String(), "user=a-damaged-0000 ") }
	for range 2 {
		_, err := s.Prune(ctx, "ns", t0.Add(2*time.Hour), t0)
		require.NoError(t, err)
	}
	for _, user := range []string{"b-ok", "c-ok"} {
		_, err := s.User(ctx, "ns", user)
		require.ErrorIs(t, err, store.ErrNotFound, "%s, whose only receipt expired, is pruned", user)
	}
	_, err = s.User(ctx, "ns", "a-damaged-0000")
	require.Error(t, err, "the damaged row is left")
	require.Contains(t, log.String(), "a-damaged-1000")
	require.Equal(t, 1, logged(), "read once, then left for an hour")
	require.Equal(t, 1001, strings.Count(log.String(), "prune skips a user"))
	_, err = s.Prune(ctx, "ns", t0.Add(3*time.Hour+time.Second), t0)
	require.NoError(t, err)
	require.Equal(t, 2, logged(), "read again an hour later")
}

// Many deliveries this version cannot read make one log line per claim,
// with their count and the first's ID, not a line each: during a rolling
// upgrade every claim of a lease meets them again.
func TestClaimLogsItsUnreadableDeliveriesInOneLine(t *testing.T) {
	path := testPath(t)
	var log strings.Builder
	s := openStore(t, path, sqlite.WithLogger(slog.New(slog.NewTextHandler(&log, nil))))
	ctx := context.Background()
	for i, u := range []string{"ann", "bob", "cid", "dan"} {
		schedule(t, s, "ns", u, "d-"+u, t0.Add(time.Duration(i)*time.Second))
	}
	_, err := rawDB(t, path).Exec(`UPDATE campaignconnector_pending SET data = replace(data, '"email_received"', '"whatsapp_read"') WHERE id <> 'd-dan'`)
	require.NoError(t, err)

	claims, err := s.Claim(ctx, "ns", t0.Add(time.Minute), time.Minute, 10, 7)
	require.NoError(t, err)
	require.Len(t, claims, 1)
	lines := strings.Split(strings.TrimSpace(log.String()), "\n")
	require.Len(t, lines, 1, log.String())
	require.Contains(t, lines[0], "count=3")
	require.Contains(t, lines[0], "delivery=d-ann")
}

// The state column holds a user's state but the pending deliveries, which
// have rows of their own. A "pending" field found there (a corrupted or
// hand-edited file) is not read as deliveries: not as a nil one, which
// made Update panic, nor as one that would come back to life as a row.
func TestPendingInTheStateColumnIsIgnored(t *testing.T) {
	path := testPath(t)
	s := openStore(t, path)
	ctx := context.Background()
	for _, pending := range []string{`[null]`, `[{"id":"ghost","campaign_id":"f","due_at":"2026-03-01T12:00:00Z"}]`} {
		_, err := rawDB(t, path).Exec(`INSERT OR REPLACE INTO campaignconnector_users (ns, user_id, state) VALUES ('ns', 'ann', ?)`,
			`{"receipts":[{"campaign_id":"f","at":"2026-03-01T12:00:00Z"}],"pending":`+pending+`}`)
		require.NoError(t, err)
		u, err := s.User(ctx, "ns", "ann")
		require.NoError(t, err)
		require.Empty(t, u.Pending, "pending %s", pending)
		require.Len(t, u.Receipts, 1, "the rest of the state reads")
		require.NoError(t, s.Update(ctx, "ns", "ann", t0, store.Dedup{}, func(u *store.UserState, _ bool) {
			require.Empty(t, u.Pending, "pending %s", pending)
		}))
		claims, err := s.Claim(ctx, "ns", t0.Add(time.Hour), time.Minute, 10, 1)
		require.NoError(t, err)
		require.Empty(t, claims, "pending %s", pending)
	}
}
