package postgres_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/campaignconnector/campaignconnector/store/postgres"
	"github.com/campaignconnector/campaignconnector/webhook"
	"github.com/campaignconnector/campaignconnector/webhook/sendgrid"
	"github.com/stretchr/testify/require"
)

// TestValidationMatchesPostgreSQL checks the rule validation applies to
// text, numbers and JSON documents against the server itself: a value
// passes the event package's checks exactly when Go's JSON encoder and
// PostgreSQL's text and jsonb all take it unchanged.
func TestValidationMatchesPostgreSQL(t *testing.T) {
	pool := newPool(t)
	ctx := context.Background()
	accepts := func(sql string, arg any) bool {
		var ok bool
		err := pool.QueryRow(ctx, sql, arg).Scan(&ok)
		return err == nil && ok
	}
	t.Run("text", func(t *testing.T) {
		for _, s := range []string{
			"", "plain", "ünïcødé", "🙂", "\u2028", "\ufeff", "\uffff", "\U0010ffff", "\x01\x1f\x7f",
			"a\x00b", "\x00", "a\xffb", "caf\xc3", "\xed\xa0\x80", "\xed\xbf\xbf", "\xc0\x80", "\xf4\x90\x80\x80", "\xf8\x88\x80\x80\x80",
		} {
			doc, err := json.Marshal(s)
			require.NoError(t, err)
			pg := accepts(`SELECT $1::text IS NOT NULL`, s) && accepts(`SELECT $1::text::jsonb IS NOT NULL`, string(doc))
			// json.Marshal writes invalid UTF-8 as U+FFFD: a change, not a value kept.
			var back string
			require.NoError(t, json.Unmarshal(doc, &back))
			kept := pg && back == s
			require.Equal(t, kept, event.CheckText(s) == nil, "%q: PostgreSQL and Go JSON keep it: %v", s, kept)
		}
	})
	t.Run("numbers", func(t *testing.T) {
		numbers := []string{
			"0", "-0", "-0.0", "1", "-1", "12.5", "1e5", "1E+5", "1e-5", "1.5e300", "1e400", "-1e400",
			"9e131071", "99e131070", "10e131071", "1e131072", "0.1e131072", "1e-16383", "1e-16384", "0e-16383", "0e-16384",
			"1." + strings.Repeat("0", 16383), "1." + strings.Repeat("0", 16384), "1" + strings.Repeat("0", 131071),
			"1" + strings.Repeat("0", 131072), "0." + strings.Repeat("0", 16382) + "1", "0." + strings.Repeat("0", 16383) + "1",
			"0e400000", "0e1073741822", "0e1073741823", "1e-1073741823", "12345678901234567890123456789",
			"NaN", "Infinity", "-Infinity", "1e", "0x10", "--1", "1_000", "+1", "01", ".5", "1.", "", " 1",
		}
		for _, n := range numbers {
			_, goErr := json.Marshal(json.Number(n))
			kept := goErr == nil && accepts(`SELECT $1::text::jsonb IS NOT NULL`, n)
			label := n
			if len(label) > 40 {
				label = fmt.Sprintf("%s…(%d bytes)", label[:20], len(n))
			}
			require.Equal(t, kept, event.CheckValue(json.Number(n)) == nil, "%s: kept: %v", label, kept)
		}
	})
	t.Run("documents", func(t *testing.T) {
		for _, doc := range []string{
			`{}`, `{"a":[1,"x",null,true,{"b":-0.5e-3}]}`, `"\u00e9\ud83d\ude42"`, `"\\u0000"`, `{"k":"\u0001"}`,
			`"\u0000"`, `{"\u0000":1}`, `"\ud800"`, `"\udc00"`, `"\ud800\u0041"`, `"\ud800\ud800"`, "\"\xff\"", `[1e131072]`,
			`[1e-16384]`, `[1e131071]`, `{"a":` + strings.Repeat("[", 500) + strings.Repeat("]", 500) + `}`,
		} {
			kept := json.Valid([]byte(doc)) && accepts(`SELECT $1::text::jsonb IS NOT NULL`, doc)
			require.Equal(t, kept, event.CheckJSON([]byte(doc)) == nil, "%q: kept: %v", doc, kept)
		}
	})
}

// poisonEngine returns an engine on s, in namespace ns, without size
// limits (so that only what stores hold decides), with a newsletter and a
// resend a week after its receipt, and its clock.
func poisonEngine(t *testing.T, s store.Store, ns string) (*connector.Engine, *clock.Mock) {
	t.Helper()
	ctx := context.Background()
	clk := clock.NewMock()
	clk.Set(t0)
	e, err := connector.New(s, connector.SenderFunc(func(context.Context, connector.Delivery) error { return nil }),
		connector.WithClock(clk), connector.WithNamespace(ns), connector.WithLimits(event.Limits{}))
	require.NoError(t, err)
	require.NoError(t, e.Save(ctx, rule.Campaign{ID: "newsletter"}))
	require.NoError(t, e.Save(ctx, rule.Campaign{ID: "resend",
		Triggers: []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "newsletter"}},
		Delay:    rule.After(7 * 24 * time.Hour)}))
	require.NoError(t, e.Publish(ctx, "resend"))
	require.NoError(t, e.Publish(ctx, "newsletter"))
	clk.Add(time.Minute)
	return e, clk
}

// poisonEvents are receipts that some store could not keep, one bad field
// each.
func poisonEvents() map[string]event.Event {
	rcv := func(user, id string) event.Event {
		return event.Event{ID: id, UserID: user, Kind: event.EmailReceived, CampaignID: "newsletter", Time: t0}
	}
	with := func(ev event.Event, f func(*event.Event)) event.Event { f(&ev); return ev }
	return map[string]event.Event{
		"NUL in the user ID":          rcv("ann\x00", "e1"),
		"user ID not UTF-8":           rcv("ann\xff", "e1"),
		"user ID of 3000 bytes":       rcv(incompressible(3000), "e1"),
		"NUL in the event ID":         rcv("ann", "e\x00"),
		"event ID not UTF-8":          rcv("ann", "e\xc3"),
		"NUL in the campaign ID":      with(rcv("ann", "e1"), func(e *event.Event) { e.CampaignID = "news\x00letter" }),
		"NaN json.Number":             with(rcv("ann", "e1"), func(e *event.Event) { e.Properties = map[string]any{"n": json.Number("NaN")} }),
		"hexadecimal json.Number":     with(rcv("ann", "e1"), func(e *event.Event) { e.Properties = map[string]any{"n": json.Number("0x10")} }),
		"json.Number beyond numeric":  with(rcv("ann", "e1"), func(e *event.Event) { e.Properties = map[string]any{"n": json.Number("1e131072")} }),
		"infinite float":              with(rcv("ann", "e1"), func(e *event.Event) { e.Properties = map[string]any{"f": math.Inf(1)} }),
		"NUL in a nested string":      with(rcv("ann", "e1"), func(e *event.Event) { e.Properties = map[string]any{"l": []any{map[string]any{"s": "\x00"}}} }),
		"property name not UTF-8":     with(rcv("ann", "e1"), func(e *event.Event) { e.Properties = map[string]any{"k\xff": 1} }),
		"time past the year 9999":     with(rcv("ann", "e1"), func(e *event.Event) { e.Time = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }),
		"time too late for delays":    with(rcv("ann", "e1"), func(e *event.Event) { e.Time = time.Date(9999, 12, 30, 0, 0, 0, 0, time.UTC) }),
		"time in a zone with seconds": with(rcv("ann", "e1"), func(e *event.Event) { e.Time = t0.In(time.FixedZone("LMT", 3630)) }),
	}
}

// TestPoisonEventsRejectedBeforePostgreSQL: each event some store could
// not keep is rejected by Track and TrackAll with a ValidationError, on
// PostgreSQL as on the memory store, and TrackAll tracks its batch-mates.
func TestPoisonEventsRejectedBeforePostgreSQL(t *testing.T) {
	ctx := context.Background()
	pg := openStore(t, postgres.WithSchema(testSchema(t)))
	n := 0
	for name, bad := range poisonEvents() {
		n++
		ns := fmt.Sprint("poison-", n)
		t.Run(name, func(t *testing.T) {
			for _, s := range []struct {
				name  string
				store store.Store
			}{{"memory", store.NewMemory()}, {"postgres", pg}} {
				e, _ := poisonEngine(t, s.store, ns)
				var ve *event.ValidationError
				require.ErrorAs(t, e.Track(ctx, bad), &ve, "%s: Track", s.name)

				before := event.Event{ID: "b-1", UserID: "bob", Kind: event.EmailReceived, CampaignID: "newsletter", Time: t0}
				after := event.Event{ID: "c-1", UserID: "cleo", Kind: event.EmailReceived, CampaignID: "newsletter", Time: t0}
				err := e.TrackAll(ctx, []event.Event{before, bad, after})
				var te *connector.TrackError
				require.ErrorAs(t, err, &te, "%s: TrackAll", s.name)
				require.Equal(t, 1, te.Index)
				require.ErrorAs(t, te.Err, &ve)
				require.Len(t, err.(interface{ Unwrap() []error }).Unwrap(), 1, "%s: only the bad event fails: %v", s.name, err)
				for _, user := range []string{before.UserID, after.UserID} {
					u, uerr := s.store.User(ctx, ns, user)
					require.NoError(t, uerr, "%s: %s tracked", s.name, user)
					require.Len(t, u.Pending, 1, "%s: %s waits for the resend", s.name, user)
				}
			}
		})
	}
}

// incompressible returns n bytes of letters and digits that PostgreSQL's
// compression cannot shrink, the same on every run.
func incompressible(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	r := mrand.New(mrand.NewPCG(1, 2))
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}

// TestUpdateBatchKeepsDataErrorsToTheirOp forces data errors inside
// UpdateBatch, below validation: a user ID PostgreSQL refuses, a delivery
// that does not encode, a campaign ID that is not UTF-8. Each fails its
// own op only; the others, of the same users too, are applied, and the
// event IDs of the failed ops are not remembered.
func TestUpdateBatchKeepsDataErrorsToTheirOp(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, postgres.WithSchema(testSchema(t)))
	due := t0.Add(time.Hour)
	schedule := func(user, id string, edit func(*store.Pending)) func(*store.UserState, bool) {
		return func(u *store.UserState, _ bool) {
			p := newPending(user, "f", id, due)
			if edit != nil {
				edit(p)
			}
			u.Pending = append(u.Pending, p)
		}
	}
	ops := []store.Op{
		{UserID: "ann", Fn: schedule("ann", "a1", nil)},
		{UserID: "bad\x00user", Fn: schedule("bad\x00user", "x1", nil)},
		{UserID: "ann", Fn: schedule("ann", "a2", nil)},
		{UserID: "bob", Fn: schedule("bob", "b1", func(p *store.Pending) {
			p.Trigger.Properties = map[string]any{"n": json.Number("NaN")}
		})},
		{UserID: "bob", Fn: schedule("bob", "b2", nil)},
		{UserID: "cleo", Fn: schedule("cleo", "c1", func(p *store.Pending) { p.CampaignID = "f\xff" })},
		{UserID: "dan", Fn: schedule("dan", "d1", nil)},
	}
	for i := range ops {
		ops[i].Now = t0
		ops[i].Dedup = store.Dedup{EventID: fmt.Sprint("ev-", i), KeepUntil: t0.Add(time.Hour)}
	}
	err := s.UpdateBatch(ctx, "", ops)
	require.Error(t, err)
	failed := map[int]bool{1: true, 3: true, 5: true}
	for i, op := range ops {
		if failed[i] {
			require.Error(t, op.Err, "op %d", i)
		} else {
			require.NoError(t, op.Err, "op %d", i)
		}
	}
	require.Equal(t, ops[1].Err, err, "UpdateBatch returns the first error")
	pendingIDs := func(user string) []string {
		u, err := s.User(ctx, "", user)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		require.NoError(t, err)
		var ids []string
		for _, p := range u.Pending {
			ids = append(ids, p.ID)
		}
		return ids
	}
	require.Equal(t, []string{"a1", "a2"}, pendingIDs("ann"))
	require.Equal(t, []string{"b2"}, pendingIDs("bob"))
	require.Nil(t, pendingIDs("cleo"))
	require.Equal(t, []string{"d1"}, pendingIDs("dan"))

	// Again with the same event IDs: the applied ops' are duplicates, the
	// failed ops' were never remembered.
	again := make([]store.Op, len(ops))
	dup := make([]bool, len(ops))
	for i, op := range ops {
		user := op.UserID
		if i == 1 {
			user = "fixed-user" // the same event ID, under a user PostgreSQL takes
		}
		again[i] = store.Op{UserID: user, Now: t0, Dedup: store.Dedup{EventID: op.Dedup.EventID, KeepUntil: t0.Add(time.Hour)},
			Fn: func(_ *store.UserState, duplicate bool) { dup[i] = duplicate }}
	}
	require.NoError(t, s.UpdateBatch(ctx, "", again))
	require.Equal(t, []bool{true, false, true, false, true, false, true}, dup)
}

// TestUpdateBatchDataErrorsAcrossChunks: with more ops than one
// transaction takes, a data error in each chunk fails its op only.
func TestUpdateBatchDataErrorsAcrossChunks(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, postgres.WithSchema(testSchema(t)))
	const n = 1500
	bad := map[int]bool{7: true, 1100: true}
	ops := make([]store.Op, n)
	for i := range ops {
		user := fmt.Sprint("u", i)
		if bad[i] {
			user += "\x00"
		}
		ops[i] = store.Op{UserID: user, Now: t0, Fn: func(u *store.UserState, _ bool) {
			u.Pending = append(u.Pending, newPending(user, "f", fmt.Sprint("p", i), t0.Add(time.Hour)))
		}}
	}
	require.Error(t, s.UpdateBatch(ctx, "", ops))
	for i, op := range ops {
		require.Equal(t, bad[i], op.Err != nil, "op %d: %v", i, op.Err)
	}
	st, err := s.Stats(ctx, "")
	require.NoError(t, err)
	require.Equal(t, int64(n-len(bad)), st.Pending)
}

// TestWebhookBatchWithABadUserOnPostgreSQL: a signed SendGrid batch with
// one user ID PostgreSQL cannot keep gets 200 with that item listed, and
// its other events are tracked, with TrackAll and with Track.
func TestWebhookBatchWithABadUserOnPostgreSQL(t *testing.T) {
	ctx := context.Background()
	pg := openStore(t, postgres.WithSchema(testSchema(t)))
	body := []byte(`[
		{"event":"delivered","sg_event_id":"sg-ann","timestamp":1772366460,"campaign_id":"newsletter","user_id":"ann"},
		{"event":"delivered","sg_event_id":"sg-bad","timestamp":1772366460,"campaign_id":"newsletter","user_id":"b\u0000b"},
		{"event":"delivered","sg_event_id":"sg-cleo","timestamp":1772366460,"campaign_id":"newsletter","user_id":"cleo"}]`)
	for _, batch := range []bool{true, false} {
		ns, name := "webhook-batch", "TrackAll"
		if !batch {
			ns, name = "webhook-each", "Track"
		}
		t.Run(name, func(t *testing.T) {
			e, _ := poisonEngine(t, pg, ns)
			var tracker webhook.Tracker = e
			if !batch {
				tracker = webhook.TrackerFunc(e.Track)
			}
			p, r := signedSendGrid(t, body)
			h, err := webhook.NewHandler(p, tracker)
			require.NoError(t, err)
			for range 2 { // the provider's retry gets the same answer
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r.Clone(ctx))
				r.Body = io.NopCloser(bytes.NewReader(body))
				require.Equal(t, http.StatusOK, w.Code, w.Body.String())
				var resp webhook.Response
				require.NoError(t, json.Unmarshal(w.Body.Bytes(), &resp))
				require.Equal(t, 2, resp.Tracked)
				require.Len(t, resp.Errors, 1)
				require.Equal(t, "sg-bad", resp.Errors[0].ID)
			}
			for _, user := range []string{"ann", "cleo"} {
				u, err := pg.User(ctx, ns, user)
				require.NoError(t, err, user)
				require.Len(t, u.Pending, 1, "%s waits for the resend", user)
			}
		})
	}
}

// signedSendGrid signs body as SendGrid does and returns the parser that
// verifies it and the request.
func signedSendGrid(t *testing.T, body []byte) (*sendgrid.Parser, *http.Request) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	der, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	require.NoError(t, err)
	p, err := sendgrid.New(base64.StdEncoding.EncodeToString(der))
	require.NoError(t, err)
	const ts = "1772366465"
	sum := sha256.Sum256(append([]byte(ts), body...))
	sig, err := ecdsa.SignASN1(rand.Reader, priv, sum[:])
	require.NoError(t, err)
	r := httptest.NewRequest(http.MethodPost, "/webhooks/sendgrid", bytes.NewReader(body))
	r.Header.Set(sendgrid.SignatureHeader, base64.StdEncoding.EncodeToString(sig))
	r.Header.Set(sendgrid.TimestampHeader, ts)
	return p, r
}
