package postgres

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

// A database with tallies, upgraded from version 6 to the latest, reads
// the tallies of some campaigns (CampaignIDs, or CampaignID) from the
// campaign index migration 7 built over the rows already there: the
// tallies come back, in order, and the plans, generic and custom, read
// the index, with no scan of the table.
func TestTalliesOfCampaignsAfterTheUpgradeFromVersion6(t *testing.T) {
	ctx := context.Background()
	pool := internalPool(t)
	schema := internalSchema(t, pool)
	require.NoError(t, MigrateTo(ctx, pool, 6, WithSchema(schema)))
	tallies := schema + ".campaignconnector_tallies"
	// As version 6 wrote them: 100 campaigns, one tally in each of 200
	// hours, and two more tallies of c7 in the hour 12:00.
	for _, sql := range []string{
		`INSERT INTO ` + tallies + ` (ns, hour, campaign_id, kind, reason, rule, n)
			SELECT 'ns', timestamptz '2026-03-01 12:00+00' - h * interval '1 hour', 'c' || c, 'delivered', '', '', 1
			FROM generate_series(0, 199) h, generate_series(0, 99) c`,
		`INSERT INTO ` + tallies + ` (ns, hour, campaign_id, kind, reason, rule, n) VALUES
			('ns', '2026-03-01 12:00+00', 'c7', 'cancelled', 'exception', 'x', 4),
			('ns', '2026-03-01 12:00+00', 'c7', 'scheduled', '', '', 9)`,
		`ANALYZE ` + tallies,
	} {
		_, err := pool.Exec(ctx, sql)
		require.NoError(t, err)
	}

	s, err := New(ctx, pool, WithSchema(schema))
	require.NoError(t, err)
	t.Cleanup(s.Close)
	var version int
	require.NoError(t, pool.QueryRow(ctx, "SELECT max(version) FROM "+schema+".campaignconnector_migrations").Scan(&version))
	ms := migrations()
	require.Equal(t, ms[len(ms)-1].version, version)

	noon := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	since, until := noon.Add(-time.Hour), noon.Add(time.Hour)
	delivered := func(hour time.Time, id string) store.Tally {
		return store.Tally{Hour: hour, CampaignID: id, Kind: rule.Delivered, Count: 1}
	}
	c7 := []store.Tally{
		delivered(since, "c7"),
		{Hour: noon, CampaignID: "c7", Kind: rule.Cancelled, Reason: rule.ReasonException, Rule: "x", Count: 4},
		delivered(noon, "c7"),
		{Hour: noon, CampaignID: "c7", Kind: rule.Scheduled, Count: 9},
	}
	got, err := s.Tallies(ctx, "ns", store.TallyQuery{Since: since, Until: until, CampaignID: "c7"})
	require.NoError(t, err)
	require.Equal(t, c7, got)
	got, err = s.Tallies(ctx, "ns", store.TallyQuery{Since: since, Until: until, CampaignIDs: []string{"c42", "c7", "c1", "none"}})
	require.NoError(t, err)
	require.Equal(t, []store.Tally{
		delivered(since, "c1"), delivered(since, "c42"), c7[0],
		delivered(noon, "c1"), delivered(noon, "c42"), c7[1], c7[2], c7[3],
	}, got)
	got, err = s.Tallies(ctx, "ns", store.TallyQuery{Since: since, Until: until})
	require.NoError(t, err)
	require.Len(t, got, 2*100+2, "every campaign's")

	conn, err := pool.Acquire(ctx)
	require.NoError(t, err)
	defer conn.Release()
	rows, err := conn.Query(ctx, "EXPLAIN "+s.q.talliesOf, pgx.QueryExecModeExec, "ns", since, until, []string{"c1", "c7", "c42"})
	require.NoError(t, err)
	custom, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	generic := explainGeneric(t, conn.Conn(), s.q.talliesOf, `'ns', '2026-03-01 11:00+00', '2026-03-01 13:00+00', '{c1,c7,c42}'`, "")
	for _, plan := range []string{strings.Join(custom, "\n"), generic} {
		require.Contains(t, plan, "campaignconnector_tallies_campaign", plan)
		require.Contains(t, plan, "campaign_id = ANY", plan)
		require.NotContains(t, plan, "Seq Scan", plan)
	}
}
