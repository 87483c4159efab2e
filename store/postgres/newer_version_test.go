package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/campaignconnector/campaignconnector/store/postgres"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

// The tests here play a rolling upgrade: a newer version of the package
// stored a campaign with fields this version does not know (written into
// the tables directly), and this version's engines go on working.

// tableIn returns the qualified name of the store's table name in schema.
func tableIn(schema, name string) string {
	return pgx.Identifier{schema, "campaignconnector_" + name}.Sanitize()
}

func TestDefinitionsOfANewerVersionDoNotStopThisOne(t *testing.T) {
	schema := testSchema(t)
	s := openStore(t, postgres.WithSchema(schema))
	ctx := context.Background()
	_, err := s.UpdateCampaign(ctx, "ns", "news", func(rec *store.CampaignRecord, _ bool) error {
		rec.Campaign, rec.State = rule.Campaign{ID: "news"}, rule.Active
		return nil
	})
	require.NoError(t, err)
	_, err = s.Pool().Exec(ctx, `UPDATE `+tableIn(schema, "campaigns")+` SET definition = '{"id":"news","priority":3}' WHERE id = 'news'`)
	require.NoError(t, err)
	_, recs, err := s.Campaigns(ctx, "ns")
	require.NoError(t, err, "a field added by a newer version stops every engine of this one")
	require.Len(t, recs, 1)
}

// An engine of this version runs a follow-up a newer version extended
// (a field of the campaign, one of its delay): it schedules and sends it
// as this version reads it. Stopping and resuming it keeps the newer
// fields in the stored definition; an edit through this version writes
// the definition this version knows, without them.
func TestAnEngineRunsAFollowUpANewerVersionExtended(t *testing.T) {
	schema := testSchema(t)
	ctx := context.Background()
	clk := clock.NewMock()
	clk.Set(t0)
	news := rule.Campaign{ID: "news"}
	f := rule.Campaign{ID: "f", Triggers: []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "news"}},
		Delay: rule.After(time.Hour), Message: []byte(`{"subject":"hi"}`)}
	s := openStore(t, postgres.WithSchema(schema))
	{
		e, err := connector.New(s, &sendCounter{byID: map[string]int{}, to: map[string]bool{}},
			connector.WithClock(clk), connector.WithNamespace("ns"))
		require.NoError(t, err)
		require.NoError(t, e.Apply(ctx, []rule.Campaign{news, f}))
	}
	const newer = `{"id":"f","priority":3,"triggers":[{"kind":"email_received","campaign_id":"news","within":"1h"}],` +
		`"delay":{"after":"1h0m0s","jitter":"5m"},"message":{"subject":"hi"}}`
	_, err := s.Pool().Exec(ctx, `UPDATE `+tableIn(schema, "campaigns")+` SET definition = $1 WHERE id = 'f'`, newer)
	require.NoError(t, err)
	definition := func() string {
		var def string
		require.NoError(t, s.Pool().QueryRow(ctx, `SELECT definition::text FROM `+tableIn(schema, "campaigns")+` WHERE id = 'f'`).Scan(&def))
		return def
	}

	sent := &sendCounter{byID: map[string]int{}, to: map[string]bool{}}
	e, err := connector.New(openStore(t, postgres.WithSchema(schema)), sent, connector.WithClock(clk), connector.WithNamespace("ns"))
	require.NoError(t, err)
	require.NoError(t, e.Apply(ctx, []rule.Campaign{news, f}), "starting up as this version does")
	require.Equal(t, newer, definition(), "applying the same definitions changes nothing")
	require.NoError(t, e.Track(ctx, event.Event{ID: "r1", UserID: "ann", Kind: event.EmailReceived, CampaignID: "news", Time: t0}))
	clk.Add(time.Hour)
	n, err := e.Tick(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Len(t, sent.byID, 1)

	require.NoError(t, e.Stop(ctx, "f"))
	require.NoError(t, e.Publish(ctx, "f"))
	require.Equal(t, newer, definition(), "a change of state drops the newer version's fields")

	edited := f
	edited.Message = []byte(`{"subject":"hello"}`)
	require.NoError(t, e.Save(ctx, edited))
	require.JSONEq(t, `{"id":"f","triggers":[{"kind":"email_received","campaign_id":"news"}],`+
		`"delay":{"after":"1h0m0s"},"message":{"subject":"hello"}}`, definition(), "an edit writes what this version knows")
}
