package postgres

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/store"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
)

// lastJSONVersion is the last schema version that kept documents as JSON.
const lastJSONVersion = 2

// A database of the version before the binary documents, with deliveries
// and states in it, upgrades to the current version and reads back what
// the earlier version read: every user's state and deliveries, and the
// claims of the due ones.
func TestUpgradeFromJSONDocumentsKeepsEveryUser(t *testing.T) {
	ctx := context.Background()
	pool := internalPool(t)
	schema := internalSchema(t, pool)
	require.NoError(t, MigrateTo(ctx, pool, lastJSONVersion, WithSchema(schema)))
	tbl := func(name string) string { return pgx.Identifier{schema, "campaignconnector_" + name}.Sanitize() }

	// Rows as the earlier version wrote them, and what it read back.
	const ns = "up"
	want := map[string]store.UserState{}
	f := filler{rand.New(rand.NewPCG(11, 11))}
	due := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for i := range 60 {
		user := fmt.Sprint("user-", i)
		var u store.UserState
		if i%3 != 0 { // some users have deliveries only
			for _, v := range []any{&u.Receipts, &u.Sends, &u.Conversions, &u.Log} {
				f.fill(reflect.ValueOf(v).Elem())
			}
			_, err := pool.Exec(ctx, `INSERT INTO `+tbl("users")+` (ns, user_id, state, updated_at) VALUES ($1, $2, $3, $4)`,
				ns, user, mustJSON(t, &store.UserState{Receipts: u.Receipts, Sends: u.Sends, Conversions: u.Conversions, Log: u.Log}), due)
			require.NoError(t, err)
			u = viaJSON(t, u)
		}
		for j := range i % 4 { // and some none
			var p store.Pending
			f.fill(reflect.ValueOf(&p).Elem())
			p.ID, p.CampaignID, p.Trigger.UserID = fmt.Sprintf("d-%d-%d", i, j), fmt.Sprint("c-", j), user // columns: text PostgreSQL keeps
			p.ReadyAt, p.Token = due.Add(time.Duration(i*j)*time.Minute), uint64(j)
			_, err := pool.Exec(ctx, `INSERT INTO `+tbl("pending")+` (ns, user_id, id, campaign_id, seq, ready_at, token, data)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, ns, user, p.ID, p.CampaignID, j, p.ReadyAt, int64(p.Token), mustJSON(t, legacyOf(&p)))
			require.NoError(t, err)
			back := store.Pending{ID: p.ID, CampaignID: p.CampaignID, ReadyAt: p.ReadyAt, Token: p.Token}
			require.NoError(t, decodeLegacyPending(&back, mustJSON(t, legacyOf(&p))))
			u.Pending = append(u.Pending, &back)
		}
		if !u.IsEmpty() {
			want[user] = u
		}
	}

	s, err := New(ctx, pool, WithSchema(schema))
	require.NoError(t, err)
	defer s.Close()
	for user, u := range want {
		got, err := s.User(ctx, ns, user)
		require.NoError(t, err, user)
		require.Equal(t, normalized(u), normalized(got), user)
	}
	claims, err := s.Claim(ctx, ns, due.Add(time.Hour), time.Minute, 1000, 7)
	require.NoError(t, err)
	var due0 int
	for _, u := range want {
		for _, p := range u.Pending {
			if !p.ReadyAt.After(due.Add(time.Hour)) {
				due0++
			}
		}
	}
	require.Len(t, claims, due0)
	for _, c := range claims {
		u := want[c.UserID]
		i := u.Find(c.Pending.ID)
		require.GreaterOrEqual(t, i, 0)
		p := *u.Pending[i]
		p.ReadyAt, p.Token = due.Add(time.Hour+time.Minute), 7
		require.Equal(t, normalized(p), normalized(c.Pending))
	}

	var jsonColumns int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM information_schema.columns
		WHERE table_schema = $1 AND data_type = 'json' AND table_name IN ('campaignconnector_pending', 'campaignconnector_users')`, schema).Scan(&jsonColumns))
	require.Zero(t, jsonColumns, "the JSON columns are gone")
}

func internalPool(tb testing.TB) *pgxpool.Pool {
	tb.Helper()
	dsn := os.Getenv("CAMPAIGNCONNECTOR_POSTGRES_DSN")
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			tb.Fatal("CAMPAIGNCONNECTOR_POSTGRES_DSN is not set and CI=true")
		}
		tb.Skip("CAMPAIGNCONNECTOR_POSTGRES_DSN is not set: start a throwaway server with `source .ci/postgres.sh start`")
	}
	pool, err := pgxpool.New(context.Background(), dsn)
	require.NoError(tb, err)
	tb.Cleanup(pool.Close)
	return pool
}

// internalSchema returns a schema of the test's own, dropped when it ends.
func internalSchema(tb testing.TB, pool *pgxpool.Pool) string {
	name := fmt.Sprintf("cctest_internal_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9)
	tb.Cleanup(func() {
		if _, err := pool.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+name+" CASCADE"); err != nil {
			tb.Errorf("dropping schema %s: %v", name, err)
		}
	})
	return name
}
