package sqlite_test

import (
	"context"
	"database/sql"
	"log/slog"
	"path/filepath"
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

// corruptCampaigns are the campaigns of FuzzCorruptRows's database.
var corruptCampaigns = []rule.Campaign{
	{ID: "newsletter"},
	{ID: "resend", Delay: rule.After(time.Hour),
		Triggers: []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "newsletter"}}},
}

// FuzzCorruptRows stores any bytes where the store keeps JSON (a user's
// state, a pending delivery's data, an interaction, a campaign's
// definition), as a corrupted database file or one a later version wrote
// may hold them, then reads and writes through the store and an engine on
// it. Each call returns or fails with an error; none panics.
func FuzzCorruptRows(f *testing.F) {
	path := filepath.Join(f.TempDir(), "cc.db")
	s := openStore(f, path, sqlite.WithLogger(slog.New(slog.DiscardHandler)))
	db := rawDB(f, path)
	ctx := context.Background()
	clk := clock.NewMock()
	clk.Set(t0)
	e, err := connector.New(s, connector.SenderFunc(func(context.Context, connector.Delivery) error { return nil }),
		connector.WithNamespace("ns"), connector.WithClock(clk))
	require.NoError(f, err)
	require.NoError(f, e.Apply(ctx, corruptCampaigns))
	require.NoError(f, e.Track(ctx, event.Event{ID: "e1", UserID: "ann", Kind: event.EmailReceived, CampaignID: "newsletter"}))
	require.NoError(f, s.Update(ctx, "ns", "ann", t0, store.Dedup{}, func(u *store.UserState, _ bool) {
		u.Receipts = append(u.Receipts, store.Receipt{CampaignID: "newsletter", At: t0})
		u.Sends = append(u.Sends, store.Send{CampaignID: "newsletter", Channel: event.Email, At: t0, Expires: t0.Add(time.Hour)})
		u.Conversions = append(u.Conversions, store.ConversionWindow{CampaignID: "newsletter", ConversionID: "buy", Opened: t0, Deadline: t0.Add(time.Hour)})
	}))
	require.NoError(f, s.AppendInteractions(ctx, "ns", []event.Event{{UserID: "ann", Kind: event.EmailOpened, CampaignID: "newsletter", Time: t0}}, t0.Add(time.Hour)))
	// The rows as this version writes them are the first seed.
	var state, data, doc, def []byte
	require.NoError(f, db.QueryRow(`SELECT state FROM campaignconnector_users WHERE ns = 'ns' AND user_id = 'ann'`).Scan(&state))
	require.NoError(f, db.QueryRow(`SELECT data FROM campaignconnector_pending WHERE ns = 'ns' AND user_id = 'ann'`).Scan(&data))
	require.NoError(f, db.QueryRow(`SELECT event FROM campaignconnector_interactions WHERE ns = 'ns'`).Scan(&doc))
	require.NoError(f, db.QueryRow(`SELECT definition FROM campaignconnector_campaigns WHERE ns = 'ns' AND id = 'resend'`).Scan(&def))
	f.Add(state, data, doc, def, false)
	f.Add([]byte(`{"pending":[null]}`), data, doc, def, true)
	f.Add([]byte(`{"pending":[{"id":"d-bob","campaign_id":"resend","due_at":"2026-03-01T12:00:00Z"}]}`), data, doc, def, true)
	f.Add([]byte(`{"log":[null],"receipts":[{}],"sends":[{"at":"0001-01-01T00:00:00Z"}],"conversions":[{}]}`), []byte(`{}`), []byte(`{}`), []byte(`{"id":"resend"}`), false)
	f.Add([]byte(`null`), []byte(`null`), []byte(`null`), []byte(`null`), false)
	f.Add([]byte(`{"log":[{"kind":"sent","event_kind":"whatsapp_read"}]}`), []byte(`{"trigger":{"kind":"whatsapp_read"}}`),
		[]byte(`{"user_id":"ann\ud800","kind":"email_opened"}`), []byte(`{"id":"resend","triggers":[{"kind":"nope"}]}`), false)
	f.Add([]byte(`[`), []byte("\xff"), []byte(`{"user_id":"ann","kind":"email_opened","time":"9999-12-31T23:59:59Z"}`), []byte(`{"id":"other"}`), false)
	f.Add(state, []byte(`{"activation":-1,"due_at":"0001-01-01T00:00:00Z","attempt":-5,"directory_errors":-1,"trigger":{"user_id":"bob","kind":"purchase"}}`), doc, []byte(`{}`), false)

	f.Fuzz(func(t *testing.T, state, data, doc, def []byte, noPending bool) {
		resetCorrupt(t, db, state, data, doc, def, noPending)
		clk.Set(t0)
		// Every call may fail; none may panic.
		_, _ = s.User(ctx, "ns", "ann")
		_, _, _ = s.Campaigns(ctx, "ns")
		_ = s.Interactions(ctx, "ns", store.InteractionQuery{}, func(event.Event) bool { return true })
		_ = s.Update(ctx, "ns", "ann", t0, store.Dedup{}, func(u *store.UserState, _ bool) {
			u.Receipts = append(u.Receipts, store.Receipt{CampaignID: "resend", At: t0})
		})
		resetCorrupt(t, db, state, data, doc, def, noPending)
		e, err := connector.New(s, connector.SenderFunc(func(context.Context, connector.Delivery) error { return nil }),
			connector.WithNamespace("ns"), connector.WithClock(clk))
		if err != nil {
			return // the definition does not read: the engine says so
		}
		_ = e.Track(ctx, event.Event{ID: "e2", UserID: "ann", Kind: event.EmailReceived, CampaignID: "newsletter"})
		clk.Add(2 * time.Hour)
		_, _ = e.Tick(ctx)
		_, _ = e.Explain(ctx, "ann", "resend")
		_, _ = s.Prune(ctx, "ns", t0.Add(1000*time.Hour), t0.Add(1000*time.Hour))
	})
}

// resetCorrupt makes the namespace's rows hold the given bytes: user
// ann's state and her one pending delivery's data, the one interaction's
// event, and campaign resend's definition.
func resetCorrupt(t *testing.T, db *sql.DB, state, data, doc, def []byte, noPending bool) {
	t.Helper()
	due := t0.Add(time.Hour).UnixNano()
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`DELETE FROM campaignconnector_users WHERE ns = 'ns'`, nil},
		{`DELETE FROM campaignconnector_interactions WHERE ns = 'ns'`, nil},
		{`DELETE FROM campaignconnector_seen WHERE ns = 'ns'`, nil},
		{`INSERT INTO campaignconnector_users (ns, user_id, state) VALUES ('ns', 'ann', ?)`, []any{string(state)}},
		{`DELETE FROM campaignconnector_pending WHERE ns = 'ns'`, nil},
		{`INSERT INTO campaignconnector_pending (ns, user_id, id, campaign_id, seq, ready_at, token, data, due_at)
			SELECT 'ns', 'ann', 'd-ann', 'resend', 1, ?, 0, ?, ? WHERE NOT ?`, []any{due, string(data), due, noPending}},
		{`INSERT INTO campaignconnector_interactions (ns, at, kind, campaign_id, event, keep_until)
			VALUES ('ns', ?, 'email_opened', 'newsletter', ?, ?)`, []any{t0.UnixNano(), string(doc), due}},
		{`UPDATE campaignconnector_campaigns SET definition = ? WHERE ns = 'ns' AND id = 'resend'`, []any{string(def)}},
		{`UPDATE campaignconnector_namespaces SET revision = revision + 1 WHERE ns = 'ns'`, nil},
	} {
		if _, err := db.Exec(q.sql, q.args...); err != nil {
			t.Fatalf("%s: %v", q.sql, err)
		}
	}
}
