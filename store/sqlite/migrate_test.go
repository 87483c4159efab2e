package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/campaignconnector/campaignconnector/store/sqlite"
	"github.com/stretchr/testify/require"
)

// The tests here open files an earlier version of the package made: at
// the first schema version, before pending rows had a due_at column and
// before tallies.

// createVersionOne makes the file at path hold the tables of the first
// migration alone, as the first release's Open left them: its SQL, run
// as Open ran it, recorded as version 1.
func createVersionOne(t testing.TB, path string) *sql.DB {
	t.Helper()
	initial, err := os.ReadFile("migrations/0001_initial.sql")
	require.NoError(t, err)
	db := rawDB(t, path)
	for _, stmt := range []string{
		"PRAGMA journal_mode = WAL",
		string(initial),
		`CREATE TABLE campaignconnector_migrations (
			version    INTEGER NOT NULL PRIMARY KEY,
			name       TEXT    NOT NULL,
			applied_at TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))`,
		`INSERT INTO campaignconnector_migrations (version, name) VALUES (1, '0001_initial.sql')`,
	} {
		_, err := db.Exec(stmt)
		require.NoError(t, err)
	}
	return db
}

// insertOldRow writes a pending row as the first release's store wrote
// it: no due_at column, the due time in the document only, spelled as
// given.
func insertOldRow(t testing.TB, db interface {
	Exec(string, ...any) (sql.Result, error)
}, user, id, campaign, due string) {
	t.Helper()
	at, err := time.Parse(time.RFC3339Nano, due)
	require.NoError(t, err)
	data := fmt.Sprintf(`{"activation":1,"trigger":{"id":"ev-%s","user_id":%q,"kind":"email_received","campaign_id":"newsletter","time":"2026-03-01T11:00:00Z"},"due_at":%q}`, id, user, due)
	_, err = db.Exec(`INSERT INTO campaignconnector_pending (ns, user_id, id, campaign_id, seq, ready_at, token, data) VALUES ('ns', ?, ?, ?, 0, ?, 0, ?)`,
		user, id, campaign, at.UnixNano(), data)
	require.NoError(t, err)
}

func listedIDs(t *testing.T, s *sqlite.Store, q store.PendingQuery) []string {
	t.Helper()
	page, err := s.ListPending(context.Background(), "ns", q)
	require.NoError(t, err)
	ids := []string{}
	for _, c := range page {
		ids = append(ids, c.Pending.ID)
	}
	return ids
}

// Open upgrades a file of the first version with pending deliveries in
// it: the migration dates them from their documents (exactly, to the
// nanosecond, whatever the zone they were written in) and adds the
// tallies; ListPending returns them in due order, and the rows a process
// of the first version writes during a rolling upgrade are listed too, in
// their place, until a write of this version dates them.
func TestOpenUpgradesAFirstVersionFile(t *testing.T) {
	path := testPath(t)
	db := createVersionOne(t, path)
	ctx := context.Background()
	// 13:00:00.123456789 UTC in three spellings, a nanosecond later, and
	// earlier and later deliveries.
	insertOldRow(t, db, "u1", "d-b", "f", "2026-03-01T13:00:00.123456789Z")
	insertOldRow(t, db, "u2", "d-a", "f", "2026-03-01T15:00:00.123456789+02:00")
	insertOldRow(t, db, "u3", "d-c", "g", "2026-03-01T08:00:00.123456789-05:00")
	insertOldRow(t, db, "u4", "d-0", "f", "2026-03-01T13:00:00.12345679Z")
	insertOldRow(t, db, "u5", "d-z", "g", "2026-03-01T12:00:00Z")
	insertOldRow(t, db, "u6", "d-y", "g", "2026-03-01T14:00:00.5+01:00")

	s := openStore(t, path)
	var version, applied int
	require.NoError(t, db.QueryRow(`SELECT max(version), count(*) FROM campaignconnector_migrations`).Scan(&version, &applied))
	files, err := os.ReadDir("migrations")
	require.NoError(t, err)
	require.Equal(t, len(files), version, "every migration applied")
	require.Equal(t, len(files), applied)
	var dated, undated int
	exact := time.Date(2026, 3, 1, 13, 0, 0, 123456789, time.UTC).UnixNano()
	require.NoError(t, db.QueryRow(`SELECT count(*) FILTER (WHERE due_at = ?), count(*) FILTER (WHERE due_at IS NULL) FROM campaignconnector_pending`, exact).Scan(&dated, &undated))
	require.Equal(t, 3, dated, "the three spellings of 13:00:00.123456789 are dated to the nanosecond")
	require.Zero(t, undated, "every row is dated")

	all := []string{"d-z", "d-a", "d-b", "d-c", "d-0", "d-y"}
	require.Equal(t, all, listedIDs(t, s, store.PendingQuery{Limit: 10}), "in DueAt order, then by ID")
	require.Equal(t, all[2:4], listedIDs(t, s, store.PendingQuery{AfterDue: time.Unix(0, exact), AfterID: "d-a", Limit: 2}))
	require.Equal(t, []string{"d-a", "d-b", "d-0"}, listedIDs(t, s, store.PendingQuery{CampaignID: "f", Limit: 10}))
	require.Equal(t, []string{"d-z", "d-c", "d-y"}, listedIDs(t, s, store.PendingQuery{CampaignID: "g", Limit: 10}))
	page, err := s.ListPending(ctx, "ns", store.PendingQuery{Limit: 1, AfterDue: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), AfterID: "d-z"})
	require.NoError(t, err)
	require.Equal(t, "u2", page[0].UserID)
	require.True(t, page[0].Pending.DueAt.Equal(time.Unix(0, exact)), "listed as the document has it: %s", page[0].Pending.DueAt)
	require.Equal(t, "ev-d-a", page[0].Pending.Trigger.ID)

	// A process of the first version schedules during the upgrade: its
	// row has no due_at.
	insertOldRow(t, db, "u7", "d-old", "f", "2026-03-01T12:30:00Z")
	require.Equal(t, []string{"d-z", "d-old", "d-a", "d-b"}, listedIDs(t, s, store.PendingQuery{Limit: 4}), "an undated row is listed in its place")
	require.Equal(t, []string{"d-old", "d-a"}, listedIDs(t, s, store.PendingQuery{CampaignID: "f", Limit: 2}))
	require.Equal(t, []string{"d-a", "d-b"}, listedIDs(t, s, store.PendingQuery{AfterDue: time.Date(2026, 3, 1, 12, 30, 0, 0, time.UTC), AfterID: "d-old", Limit: 2}))
	require.Equal(t, []string{"d-b", "d-c"}, listedIDs(t, s, store.PendingQuery{AfterDue: time.Unix(0, exact), AfterID: "d-a", Limit: 2}), "an undated row before the cursor is left out")
	require.Empty(t, listedIDs(t, s, store.PendingQuery{CampaignID: "g", AfterDue: time.Date(2026, 3, 1, 13, 0, 1, 0, time.UTC), AfterID: "x", Limit: 2}))

	// This version's writes date their rows: an insert by Update, an
	// insert and an update (of the undated row) by UpdateBatch.
	due := time.Date(2026, 3, 1, 14, 0, 0, 999, time.UTC)
	require.NoError(t, s.Update(ctx, "ns", "u8", t0, store.Dedup{}, func(u *store.UserState, _ bool) {
		u.Pending = append(u.Pending, newPending("u8", "f", "d-new1", due))
	}))
	require.NoError(t, s.UpdateBatch(ctx, "ns", []store.Op{
		{UserID: "u7", Now: t0, Fn: func(u *store.UserState, _ bool) { u.Pending[0].Attempt = 1 }},
		{UserID: "u9", Now: t0, Fn: func(u *store.UserState, _ bool) { u.Pending = append(u.Pending, newPending("u9", "f", "d-new2", due)) }},
	}))
	var dueNew int
	require.NoError(t, db.QueryRow(`SELECT count(*) FILTER (WHERE due_at IS NULL), count(*) FILTER (WHERE due_at = ?) FROM campaignconnector_pending`, due.UnixNano()).Scan(&undated, &dueNew))
	require.Zero(t, undated, "an update by this version dates the row")
	require.Equal(t, 2, dueNew, "new rows are dated to the nanosecond")
	require.Equal(t, []string{"d-z", "d-old", "d-a", "d-b", "d-c", "d-0", "d-y", "d-new1", "d-new2"}, listedIDs(t, s, store.PendingQuery{Limit: 10}))

	// Cancelling by campaign, which the dropped index served, still works.
	removed, err := s.CancelCampaign(ctx, "ns", "g")
	require.NoError(t, err)
	require.Len(t, removed, 3)
	// And the tallies are there.
	hour := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	require.NoError(t, s.AddTallies(ctx, "ns", []store.Tally{{Hour: hour, CampaignID: "f", Kind: rule.Delivered, Count: 2}}))
	got, err := s.Tallies(ctx, "ns", store.TallyQuery{})
	require.NoError(t, err)
	require.Equal(t, []store.Tally{{Hour: hour, CampaignID: "f", Kind: rule.Delivered, Count: 2}}, got)

	// Opened again, the file is up to date: nothing is applied twice.
	require.NoError(t, s.Close())
	openStore(t, path)
	require.NoError(t, db.QueryRow(`SELECT max(version), count(*) FROM campaignconnector_migrations`).Scan(&version, &applied))
	require.Equal(t, len(files), version, "every migration applied")
	require.Equal(t, len(files), applied)
}

// The upgrade of a first-version file holding 10,000 pending deliveries,
// per row: their due times decoded and written, the index built.
func BenchmarkUpgradePendingRows(b *testing.B) {
	const rows = 10_000
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		path := filepath.Join(b.TempDir(), fmt.Sprint("v1-", i, ".db"))
		db := createVersionOne(b, path)
		tx, err := db.Begin()
		require.NoError(b, err)
		for r := range rows {
			due := t0.Add(time.Duration(r) * time.Second)
			insertOldRow(b, tx, fmt.Sprint("u", r), fmt.Sprint("d-", r), fmt.Sprint("follow-up-", r%20), due.Format(time.RFC3339Nano))
		}
		require.NoError(b, tx.Commit())
		b.StartTimer()
		s, err := sqlite.Open(context.Background(), path)
		require.NoError(b, err)
		b.StopTimer()
		require.NoError(b, s.Close())
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*rows), "ns/row")
}

// A pending row whose document does not decode (damaged, say) does not
// stop the upgrade: it stays undated, the listing of its follow-up fails
// naming it, and the other follow-ups' are listed.
func TestAnUndecodableRowDoesNotStopTheUpgrade(t *testing.T) {
	path := testPath(t)
	db := createVersionOne(t, path)
	insertOldRow(t, db, "u1", "d-ok", "f", "2026-03-01T13:00:00Z")
	_, err := db.Exec(`INSERT INTO campaignconnector_pending (ns, user_id, id, campaign_id, seq, ready_at, token, data) VALUES ('ns', 'u2', 'd-bad', 'g', 0, 0, 0, '{"due_at":')`)
	require.NoError(t, err)
	s := openStore(t, path)
	var undated int
	require.NoError(t, db.QueryRow(`SELECT count(*) FROM campaignconnector_pending WHERE due_at IS NULL`).Scan(&undated))
	require.Equal(t, 1, undated)
	require.Equal(t, []string{"d-ok"}, listedIDs(t, s, store.PendingQuery{CampaignID: "f", Limit: 10}))
	_, err = s.ListPending(context.Background(), "ns", store.PendingQuery{CampaignID: "g", Limit: 10})
	require.ErrorContains(t, err, `"d-bad"`)
}
