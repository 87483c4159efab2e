package postgres_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/campaignconnector/campaignconnector/store/postgres"
	"github.com/stretchr/testify/require"
)

// syncLog is a log destination safe for the store's goroutines.
type syncLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// makeUnreadable rewrites user's pending deliveries as a newer version
// could have: with an event kind this version does not know.
func makeUnreadable(t *testing.T, s *postgres.Store, schema, user string) {
	t.Helper()
	replaceKind(t, s, schema, user, "email_received", "whatsapp_read_")
}

// replaceKind replaces the event kind from with to, of the same length, in
// the bodies of user's pending deliveries.
func replaceKind(t *testing.T, s *postgres.Store, schema, user, from, to string) {
	t.Helper()
	require.Len(t, to, len(from))
	tag, err := s.Pool().Exec(context.Background(), `UPDATE `+tableIn(schema, "pending")+
		` SET body = overlay(body PLACING convert_to($3, 'UTF8') FROM position(convert_to($2, 'UTF8') IN body) FOR length($3))
		WHERE user_id = $1 AND position(convert_to($2, 'UTF8') IN body) > 0`, user, from, to)
	require.NoError(t, err)
	require.NotZero(t, tag.RowsAffected())
}

// A pending delivery this version cannot read does not stop the others:
// Claim hands out the rest, leaves that one in the queue, leased, for a
// process that can read it, and logs it.
func TestClaimLeavesADeliveryItCannotReadToOthers(t *testing.T) {
	schema := testSchema(t)
	var log syncLog
	s := openStore(t, postgres.WithSchema(schema), postgres.WithLogger(slog.New(slog.NewTextHandler(&log, nil))))
	ctx := context.Background()
	schedule(t, s, "ns", "ann", "d-ann", t0)
	schedule(t, s, "ns", "bob", "d-bob", t0.Add(time.Second))
	makeUnreadable(t, s, schema, "ann")

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

// CancelCampaign removes the deliveries it can read and leaves one it
// cannot (a newer version's) in the queue, logged: a stop does not fail
// while an upgrade is under way.
func TestCancelCampaignLeavesADeliveryItCannotReadToOthers(t *testing.T) {
	schema := testSchema(t)
	var log syncLog
	s := openStore(t, postgres.WithSchema(schema), postgres.WithLogger(slog.New(slog.NewTextHandler(&log, nil))))
	ctx := context.Background()
	schedule(t, s, "ns", "ann", "d-ann", t0)
	schedule(t, s, "ns", "bob", "d-bob", t0.Add(time.Second))
	schedule(t, s, "ns", "cat", "d-cat", t0.Add(2*time.Second))
	makeUnreadable(t, s, schema, "bob")

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
	schema := testSchema(t)
	ctx := context.Background()
	clk := clock.NewMock()
	clk.Set(t0)
	sent := &sendCounter{byID: map[string]int{}, to: map[string]bool{}}
	s := openStore(t, postgres.WithSchema(schema))
	e, err := connector.New(s, sent, connector.WithClock(clk), connector.WithNamespace("ns"))
	require.NoError(t, err)
	require.NoError(t, e.Apply(ctx, []rule.Campaign{{ID: "news"}, {ID: "f",
		Triggers: []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "news"}}, Delay: rule.After(time.Hour)}}))
	for _, user := range []string{"ann", "bob"} {
		require.NoError(t, e.Track(ctx, event.Event{ID: "r-" + user, UserID: user, Kind: event.EmailReceived, CampaignID: "news", Time: t0}))
	}
	makeUnreadable(t, s, schema, "ann")

	require.NoError(t, e.Stop(ctx, "f"), "a delivery of a newer version fails the stop")
	st, err := e.Stats(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 1, st.Pending, "ann's delivery waits for a version that reads it")

	// The newer version, which reads it, claims it when it is due.
	replaceKind(t, s, schema, "ann", "whatsapp_read_", "email_received")
	clk.Add(time.Hour)
	n, err := e.Tick(ctx)
	require.NoError(t, err)
	require.Zero(t, n)
	require.Empty(t, sent.byID, "a delivery of a stopped campaign was sent")
	st, err = e.Stats(ctx)
	require.NoError(t, err)
	require.Zero(t, st.Pending)
}

// Many deliveries this version cannot read make one log line per claim,
// with their count and the first's ID, not a line each: during a rolling
// upgrade every claim of a lease meets them again.
func TestClaimLogsItsUnreadableDeliveriesInOneLine(t *testing.T) {
	schema := testSchema(t)
	var log syncLog
	s := openStore(t, postgres.WithSchema(schema), postgres.WithLogger(slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelWarn}))))
	ctx := context.Background()
	for i, u := range []string{"ann", "bob", "cid", "dan"} {
		schedule(t, s, "ns", u, "d-"+u, t0.Add(time.Duration(i)*time.Second))
		if u != "dan" {
			makeUnreadable(t, s, schema, u)
		}
	}
	claims, err := s.Claim(ctx, "ns", t0.Add(time.Minute), time.Minute, 10, 7)
	require.NoError(t, err)
	require.Len(t, claims, 1)
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(log.String()), "\n") {
		if strings.Contains(l, "cannot read") {
			lines = append(lines, l)
		}
	}
	require.Len(t, lines, 1, log.String())
	require.Contains(t, lines[0], "count=3")
	require.Contains(t, lines[0], "delivery=d-ann")
}
