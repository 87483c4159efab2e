package postgres_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/campaignconnector/campaignconnector/store/postgres"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
)

// createVersionOne makes schema hold the tables of the first migration
// alone, as a database made by the first release does: its SQL, run as
// Migrate ran it, recorded as version 1.
func createVersionOne(t *testing.T, pool *pgxpool.Pool, schema string) {
	t.Helper()
	ctx := context.Background()
	sql, err := os.ReadFile("migrations/0001_initial.sql")
	require.NoError(t, err)
	var pairs []string
	for _, name := range []string{"namespaces", "campaigns", "users", "seen", "pending", "counters", "interactions"} {
		pairs = append(pairs, "{"+name+"}", schema+".campaignconnector_"+name)
	}
	pairs = append(pairs, "{prefix}", "campaignconnector_")
	conn, err := pool.Acquire(ctx)
	require.NoError(t, err)
	defer conn.Release()
	for _, stmt := range []string{
		"CREATE SCHEMA " + schema,
		strings.NewReplacer(pairs...).Replace(string(sql)),
		"CREATE TABLE " + schema + ".campaignconnector_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())",
		"INSERT INTO " + schema + ".campaignconnector_migrations (version, name) VALUES (1, '0001_initial.sql')",
	} {
		_, err := conn.Conn().PgConn().Exec(ctx, stmt).ReadAll()
		require.NoError(t, err)
	}
}

// insertOldRow writes a pending row as the first release's store wrote
// it: no due_at, the due time in the document only.
func insertOldRow(t *testing.T, pool *pgxpool.Pool, schema, user, id, campaign, due string) {
	t.Helper()
	data := fmt.Sprintf(`{"activation":1,"trigger":{"id":"ev-%s","user_id":%q,"kind":"email_received","time":"2026-03-01T11:00:00Z"},"due_at":%q}`, id, user, due)
	_, err := pool.Exec(context.Background(), "INSERT INTO "+schema+".campaignconnector_pending (ns, user_id, id, campaign_id, seq, ready_at, token, data) VALUES ('ns', $1, $2, $3, 0, $4, 0, $5)",
		user, id, campaign, due, data)
	require.NoError(t, err)
}

func listedIDs(t *testing.T, s *postgres.Store, q store.PendingQuery) []string {
	t.Helper()
	page, err := s.ListPending(context.Background(), "ns", q)
	require.NoError(t, err)
	var ids []string
	for _, c := range page {
		ids = append(ids, c.Pending.ID)
	}
	return ids
}

// TestMigrateUpgradesAFirstReleaseDatabase opens a store on a database
// the first release made, with pending deliveries in it, upgraded first to
// the version that dates them (to the microsecond, whatever their zone),
// while a replica of the first release went on writing undated rows:
// this version's migrations date those from their documents too, add the
// tallies, and every delivery is listed in order.
func TestMigrateUpgradesAFirstReleaseDatabase(t *testing.T) {
	schema := testSchema(t)
	pool := newPool(t)
	ctx := context.Background()
	createVersionOne(t, pool, schema)
	// Due 13:00:00.123456789 UTC in three spellings, and once a
	// microsecond later.
	insertOldRow(t, pool, schema, "u1", "d-b", "f", "2026-03-01T13:00:00.123456789Z")
	insertOldRow(t, pool, schema, "u2", "d-a", "f", "2026-03-01T15:00:00.1234569+02:00")
	insertOldRow(t, pool, schema, "u3", "d-c", "g", "2026-03-01T08:00:00.123456-05:00")
	insertOldRow(t, pool, schema, "u4", "d-0", "f", "2026-03-01T13:00:00.123457Z")
	insertOldRow(t, pool, schema, "u5", "d-z", "g", "2026-03-01T12:00:00Z")
	require.NoError(t, postgres.MigrateTo(ctx, pool, 2, postgres.WithSchema(schema)))
	var dated int
	require.NoError(t, pool.QueryRow(ctx, "SELECT count(*) FROM "+schema+".campaignconnector_pending WHERE due_at = '2026-03-01T13:00:00.123456Z'").Scan(&dated))
	require.Equal(t, 3, dated, "the three spellings of 13:00:00.123456789 are dated to the microsecond, rounded down")
	// A replica of the first release schedules during that upgrade.
	insertOldRow(t, pool, schema, "u6", "d-old", "f", "2026-03-01T12:30:00.0000009Z")

	s := openStore(t, postgres.WithSchema(schema))
	migrations, err := os.ReadDir("migrations")
	require.NoError(t, err)
	var version int
	require.NoError(t, pool.QueryRow(ctx, "SELECT max(version) FROM "+schema+".campaignconnector_migrations").Scan(&version))
	require.Equal(t, len(migrations), version)
	var undated int
	require.NoError(t, pool.QueryRow(ctx, "SELECT count(*) FROM "+schema+".campaignconnector_pending WHERE due_at IS NULL").Scan(&undated))
	require.Zero(t, undated, "the rows the earlier replica wrote are dated from their documents")
	require.NoError(t, pool.QueryRow(ctx, "SELECT count(*) FROM "+schema+".campaignconnector_pending WHERE due_at = '2026-03-01T13:00:00.123456Z'").Scan(&dated))
	require.Equal(t, 3, dated, "the dated rows keep their due_at")

	require.Equal(t, []string{"d-z", "d-old", "d-a", "d-b", "d-c", "d-0"}, listedIDs(t, s, store.PendingQuery{Limit: 10}),
		"in DueAt order at the microsecond, then by ID")
	require.Equal(t, []string{"d-b", "d-c"}, listedIDs(t, s, store.PendingQuery{AfterDue: time.Date(2026, 3, 1, 13, 0, 0, 123456789, time.UTC), AfterID: "d-a", Limit: 2}))
	require.Equal(t, []string{"d-old", "d-a", "d-b", "d-0"}, listedIDs(t, s, store.PendingQuery{CampaignID: "f", Limit: 10}))
	require.Equal(t, []string{"d-a", "d-b"}, listedIDs(t, s, store.PendingQuery{AfterDue: time.Date(2026, 3, 1, 12, 30, 0, 0, time.UTC), AfterID: "d-old", Limit: 2}))
	require.Empty(t, listedIDs(t, s, store.PendingQuery{CampaignID: "g", AfterDue: time.Date(2026, 3, 1, 13, 0, 1, 0, time.UTC), AfterID: "x", Limit: 2}))
	page, err := s.ListPending(ctx, "ns", store.PendingQuery{Limit: 1, AfterDue: time.Date(2026, 3, 1, 12, 30, 0, 0, time.UTC), AfterID: "d-old"})
	require.NoError(t, err)
	require.True(t, page[0].Pending.DueAt.Equal(time.Date(2026, 3, 1, 13, 0, 0, 123456900, time.UTC)), "the document keeps the exact time: %s", page[0].Pending.DueAt)
	require.Equal(t, "u2", page[0].UserID)
	u6, err := s.User(ctx, "ns", "u6")
	require.NoError(t, err)
	require.True(t, u6.Pending[0].DueAt.Equal(time.Date(2026, 3, 1, 12, 30, 0, 900, time.UTC)), "the document keeps the exact time: %s", u6.Pending[0].DueAt)

	// This version's writes date their rows: an insert by Update, an
	// insert and an update (of the row the earlier replica wrote) by UpdateBatch.
	due := time.Date(2026, 3, 1, 14, 0, 0, 999, time.UTC)
	err = s.Update(ctx, "ns", "u7", t0, store.Dedup{}, func(u *store.UserState, _ bool) {
		u.Pending = append(u.Pending, newPending("u7", "f", "d-new1", due))
	})
	require.NoError(t, err)
	require.NoError(t, s.UpdateBatch(ctx, "ns", []store.Op{
		{UserID: "u6", Now: t0, Fn: func(u *store.UserState, _ bool) { u.Pending[0].Attempt = 1 }},
		{UserID: "u8", Now: t0, Fn: func(u *store.UserState, _ bool) { u.Pending = append(u.Pending, newPending("u8", "f", "d-new2", due)) }},
	}))
	var exact int
	require.NoError(t, pool.QueryRow(ctx, "SELECT count(*) FILTER (WHERE due_at IS NULL), count(*) FILTER (WHERE due_at = '2026-03-01T14:00:00Z') FROM "+schema+".campaignconnector_pending").Scan(&undated, &exact))
	require.Zero(t, undated, "an update by this version dates the row")
	require.Equal(t, 2, exact, "new rows are dated, rounded down to the microsecond")
	require.Equal(t, []string{"d-z", "d-old", "d-a", "d-b", "d-c", "d-0", "d-new1", "d-new2"}, listedIDs(t, s, store.PendingQuery{Limit: 10}))

	// Cancelling by campaign, which the dropped index served, still works.
	removed, err := s.CancelCampaign(ctx, "ns", "g")
	require.NoError(t, err)
	require.Len(t, removed, 2)
	// And the tallies are there.
	hour := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	require.NoError(t, s.AddTallies(ctx, "ns", []store.Tally{{Hour: hour, CampaignID: "f", Kind: rule.Delivered, Count: 2}}))
	got, err := s.Tallies(ctx, "ns", store.TallyQuery{})
	require.NoError(t, err)
	require.Equal(t, []store.Tally{{Hour: hour, CampaignID: "f", Kind: rule.Delivered, Count: 2}}, got)
}
