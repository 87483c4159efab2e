package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/campaignconnector/campaignconnector/store/postgres"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
)

// Calls whose context ends while the server runs their COMMIT: the
// transaction commits, so they must report success, not a failure that
// tells the host nothing changed. A deferred trigger holds the COMMIT
// until the test opens a gate; the context is cancelled while the server
// waits there.

func TestUpdateCancelledDuringCommitReportsWhatCommitted(t *testing.T) {
	ctx := context.Background()
	schema := testSchema(t)
	s := openStore(t, postgres.WithSchema(schema))
	gateCommits(t, s.Pool(), schema, "pending", "INSERT")
	err := cancelDuringCommit(t, s.Pool(), schema, func(ctx context.Context) error {
		return s.Update(ctx, "ns", "ann", t0, store.Dedup{EventID: "e1", KeepUntil: t0.Add(time.Hour)},
			func(u *store.UserState, _ bool) {
				u.Pending = append(u.Pending, newPending("ann", "f", "d1", t0.Add(time.Hour)))
			})
	})
	u, uerr := s.User(ctx, "ns", "ann")
	require.NoError(t, uerr, "the delivery was not stored")
	require.Len(t, u.Pending, 1)
	require.NoError(t, err, "the Update reported a failure, but its transaction committed")
	// Its event ID is remembered: the same event again is a duplicate.
	var dup bool
	require.NoError(t, s.Update(ctx, "ns", "ann", t0.Add(time.Minute), store.Dedup{EventID: "e1", KeepUntil: t0.Add(time.Hour)},
		func(_ *store.UserState, d bool) { dup = d }))
	require.True(t, dup)
}

func TestUpdateCampaignCancelledDuringCommitReportsWhatCommitted(t *testing.T) {
	ctx := context.Background()
	schema := testSchema(t)
	s := openStore(t, postgres.WithSchema(schema))
	gateCommits(t, s.Pool(), schema, "campaigns", "INSERT")
	err := cancelDuringCommit(t, s.Pool(), schema, func(ctx context.Context) error {
		_, err := s.UpdateCampaign(ctx, "ns", "news", func(rec *store.CampaignRecord, _ bool) error {
			rec.Campaign, rec.State = rule.Campaign{ID: "news"}, rule.Draft
			return nil
		})
		return err
	})
	_, recs, cerr := s.Campaigns(ctx, "ns")
	require.NoError(t, cerr)
	require.Len(t, recs, 1, "the campaign was not stored")
	require.NoError(t, err, "UpdateCampaign reported a failure, but its transaction committed")
}

func TestCancelCampaignCancelledDuringCommitReportsWhatCommitted(t *testing.T) {
	ctx := context.Background()
	schema := testSchema(t)
	s := openStore(t, postgres.WithSchema(schema))
	schedule(t, s, "ns", "ann", "d1", t0.Add(time.Hour))
	gateCommits(t, s.Pool(), schema, "pending", "DELETE")
	var removed []store.Claim
	err := cancelDuringCommit(t, s.Pool(), schema, func(ctx context.Context) (err error) {
		removed, err = s.CancelCampaign(ctx, "ns", "f")
		return err
	})
	_, uerr := s.User(ctx, "ns", "ann")
	require.ErrorIs(t, uerr, store.ErrNotFound, "the delivery was not removed")
	require.NoError(t, err, "CancelCampaign reported a failure, but its transaction committed")
	require.Len(t, removed, 1)
}

// gateCommits makes every COMMIT of a transaction that ran op on the
// store's table name in schema wait until the test opens the gate
// (cancelDuringCommit does), 30 s at most.
func gateCommits(t *testing.T, pool *pgxpool.Pool, schema, name, op string) {
	t.Helper()
	for _, sql := range []string{
		`CREATE TABLE ` + schema + `.gate (open bool NOT NULL)`,
		`INSERT INTO ` + schema + `.gate VALUES (false)`,
		`CREATE FUNCTION ` + schema + `.wait_gate() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			FOR i IN 1..3000 LOOP
				EXIT WHEN (SELECT open FROM ` + schema + `.gate);
				PERFORM pg_sleep(0.01);
			END LOOP;
			RETURN NULL;
		END $$`,
		`CREATE CONSTRAINT TRIGGER wait_gate AFTER ` + op + ` ON ` + tableIn(schema, name) + `
			DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ` + schema + `.wait_gate()`,
	} {
		_, err := pool.Exec(context.Background(), sql)
		require.NoError(t, err)
	}
}

// cancelDuringCommit runs call, cancels its context once the server holds
// its COMMIT at the gate of schema, opens the gate, and returns call's
// error.
func cancelDuringCommit(t *testing.T, pool *pgxpool.Pool, schema string, call func(context.Context) error) error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- call(ctx) }()
	require.Eventually(t, func() bool {
		var n int
		err := pool.QueryRow(context.Background(),
			`SELECT count(*) FROM pg_stat_activity WHERE query = 'COMMIT' AND wait_event = 'PgSleep'`).Scan(&n)
		return err == nil && n > 0
	}, 30*time.Second, 5*time.Millisecond, "the call never reached its COMMIT")
	cancel()
	// A call that gives up on its COMMIT returns at once: give it the time
	// to, then let the COMMIT finish. (A call that waits for its COMMIT, as
	// it should, passes whatever this wait.)
	var err error
	returned := false
	select {
	case err = <-done:
		returned = true
	case <-time.After(200 * time.Millisecond):
	}
	_, gerr := pool.Exec(context.Background(), `UPDATE `+schema+`.gate SET open = true`)
	require.NoError(t, gerr)
	if !returned {
		err = <-done
	}
	return err
}
