package webhook_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/campaignconnector/campaignconnector/webhook"
	"github.com/campaignconnector/campaignconnector/webhook/sendgrid"
	"github.com/campaignconnector/campaignconnector/webhook/sendgrid/sendgridtest"
	"github.com/stretchr/testify/require"
)

// flakyStore is a memory store whose user updates fail for the users in
// down, as a store that lost its connection does.
type flakyStore struct {
	*store.Memory
	mu   sync.Mutex
	down map[string]bool
}

var errStoreDown = errors.New("store: connection refused")

func (s *flakyStore) isDown(user string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.down[user]
}

func (s *flakyStore) setDown(user string, down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down[user] = down
}

func (s *flakyStore) Update(ctx context.Context, ns, user string, now time.Time, d store.Dedup, fn func(*store.UserState, bool)) error {
	if s.isDown(user) {
		return errStoreDown
	}
	return s.Memory.Update(ctx, ns, user, now, d, fn)
}

func (s *flakyStore) UpdateBatch(ctx context.Context, ns string, ops []store.Op) error {
	var first error
	for i := range ops {
		if s.isDown(ops[i].UserID) {
			ops[i].Err = errStoreDown
		} else {
			ops[i].Err = s.Memory.Update(ctx, ns, ops[i].UserID, ops[i].Now, ops[i].Dedup, ops[i].Fn)
		}
		if first == nil {
			first = ops[i].Err
		}
	}
	return first
}

// hostileEngine is an engine on s with a "newsletter" campaign and a
// "resend" follow-up a week after its delivery, an hour after both were
// published.
func hostileEngine(t *testing.T, s store.Store, clk *clock.Mock) *connector.Engine {
	t.Helper()
	ctx := context.Background()
	e, err := connector.New(s, connector.SenderFunc(func(context.Context, connector.Delivery) error { return nil }),
		connector.WithClock(clk))
	require.NoError(t, err)
	if _, err := e.Campaign(ctx, "newsletter"); err == nil {
		return e
	}
	require.NoError(t, e.Save(ctx, rule.Campaign{ID: "newsletter"}))
	require.NoError(t, e.Save(ctx, rule.Campaign{ID: "resend", Delay: rule.After(7 * 24 * time.Hour),
		Triggers: []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "newsletter"}}}))
	require.NoError(t, e.Publish(ctx, "resend"))
	require.NoError(t, e.Publish(ctx, "newsletter"))
	return e
}

func newMockClock() *clock.Mock {
	clk := clock.NewMock()
	clk.Set(time.Unix(1767600000, 0))
	return clk
}

// delivered is a SendGrid delivered item of user, in campaign.
func delivered(id, campaign, user string) string {
	return fmt.Sprintf(`{"event":"delivered","sg_event_id":%q,"timestamp":1767603600,"campaign_id":%q,"user_id":%q}`, id, campaign, user)
}

// serve has h answer a SendGrid request signed by signer with body, and
// returns the status, the response and the error callback's error.
func serve(t *testing.T, signer *sendgridtest.Signer, tracker webhook.Tracker, body string, now time.Time) (int, webhook.Response, error) {
	t.Helper()
	p, err := sendgrid.New(signer.VerificationKey())
	require.NoError(t, err)
	var reported error
	h, err := webhook.NewHandler(p, tracker, webhook.WithErrorFunc(func(_ *http.Request, err error) { reported = err }))
	require.NoError(t, err)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, signer.Request(t, "/webhooks/sendgrid", []byte(body), now))
	var resp webhook.Response
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &resp), w.Body.String())
	return w.Code, resp, reported
}

// trackers gives the engine as the handler sees it: with TrackAll, and
// with Track alone.
func trackers(e *connector.Engine) map[string]webhook.Tracker {
	return map[string]webhook.Tracker{"TrackAll": e, "Track": struct {
		webhook.TrackerFunc
		webhook.CampaignLookup
		unknownLister
	}{e.Track, e, e}}
}

// unknownLister is the engine's list of unknown campaigns, which the
// handler reads for its suggestions.
type unknownLister interface {
	UnknownCampaigns() []connector.UnknownCampaign
}

func TestHandlerCountsUnknownCampaignsApart(t *testing.T) {
	body := "[" + delivered("sg-1", "newsletter", "ann") + "," + delivered("sg-2", "newslettr", "bob") + "," +
		delivered("sg-3", "newslettr", "cleo") + "," + delivered("sg-4", "promo", "dan") + "]"
	for name, tracker := range trackers(hostileEngine(t, store.NewMemory(), newMockClock())) {
		t.Run(name, func(t *testing.T) {
			signer := sendgridtest.NewSigner(t)
			code, resp, reported := serve(t, signer, tracker, body, time.Unix(1767603600, 0))
			require.Equal(t, http.StatusOK, code)
			require.Equal(t, 4, resp.Tracked, "accepted, duplicates and unknown campaigns included")
			require.Equal(t, 3, resp.UnknownCampaign)
			require.Equal(t, []string{"newslettr", "promo"}, resp.UnknownCampaigns)
			require.ErrorIs(t, reported, connector.ErrUnknownCampaign)
			require.Contains(t, reported.Error(), `webhook: 3 tracked events name campaigns the engine does not know, `+
				`["newslettr" "promo"], and no follow-up uses them: fix the campaign ID in your messages' metadata, `+
				`or save the campaign (did you mean "newsletter" for "newslettr"?): connector: unknown campaign`)
		})
	}
	t.Run("one event says so in the singular", func(t *testing.T) {
		one := "[" + delivered("sg-1", "newsletter", "ann") + "," + delivered("sg-2", "newslettr", "bob") + "]"
		e := hostileEngine(t, store.NewMemory(), newMockClock())
		_, resp, reported := serve(t, sendgridtest.NewSigner(t), e, one, time.Unix(1767603600, 0))
		require.Equal(t, 1, resp.UnknownCampaign)
		require.ErrorIs(t, reported, connector.ErrUnknownCampaign)
		require.Contains(t, reported.Error(), `webhook: 1 tracked event names a campaign the engine does not know, `+
			`["newslettr"], and no follow-up uses it: fix the campaign ID`)
	})
	t.Run("a tracker without a list of unknown campaigns suggests none", func(t *testing.T) {
		e := hostileEngine(t, store.NewMemory(), newMockClock())
		lookupOnly := struct {
			webhook.TrackerFunc
			webhook.CampaignLookup
		}{e.Track, e}
		_, _, reported := serve(t, sendgridtest.NewSigner(t), lookupOnly, body, time.Unix(1767603600, 0))
		require.ErrorIs(t, reported, connector.ErrUnknownCampaign)
		require.Contains(t, reported.Error(), `or save the campaign: connector: unknown campaign`)
	})
	t.Run("a tracker that cannot look campaigns up says nothing", func(t *testing.T) {
		code, resp, reported := serve(t, sendgridtest.NewSigner(t), &recorder{}, body, time.Unix(1767603600, 0))
		require.Equal(t, http.StatusOK, code)
		require.Equal(t, 4, resp.Tracked)
		require.Zero(t, resp.UnknownCampaign)
		require.NoError(t, reported)
	})
}

// TestHandlerHandsOverUntrackedEvents: on a store failure the error
// callback gets the events not tracked, and only those, so that a host
// whose provider does not retry (Mailgun's delivered events) can keep
// them; tracking them later counts each once.
func TestHandlerHandsOverUntrackedEvents(t *testing.T) {
	ctx := context.Background()
	body := "[" + delivered("sg-ann", "newsletter", "ann") + "," + delivered("sg-bob", "newsletter", "bob") + "," +
		`{"event":"delivered","sg_event_id":"sg-bad","timestamp":1767603600,"campaign_id":"newsletter","user_id":"b\u0000b"}` + "," + delivered("sg-cleo", "newsletter", "cleo") + "]"
	for _, name := range []string{"TrackAll", "Track"} {
		t.Run(name, func(t *testing.T) {
			s := &flakyStore{Memory: store.NewMemory(), down: map[string]bool{"bob": true}}
			e := hostileEngine(t, s, newMockClock())
			code, resp, reported := serve(t, sendgridtest.NewSigner(t), trackers(e)[name], body, time.Unix(1767603600, 0))
			require.Equal(t, http.StatusInternalServerError, code)
			require.Equal(t, 2, resp.Tracked)
			require.Len(t, resp.Errors, 1, "the event no store can keep")
			var ue *webhook.UntrackedError
			require.ErrorAs(t, reported, &ue)
			require.Equal(t, []string{"sg-bob"}, ids(ue.Events))
			require.ErrorIs(t, ue, errStoreDown)

			s.setDown("bob", false)
			require.NoError(t, e.TrackAll(ctx, ue.Events), "the host tracks what it kept")
			require.NoError(t, e.TrackAll(ctx, ue.Events), "and again: a duplicate")
			for _, user := range []string{"ann", "bob", "cleo"} {
				u, err := s.User(ctx, "", user)
				require.NoError(t, err, user)
				require.Len(t, u.Pending, 1, "%s waits for one resend", user)
			}
		})
	}
}

// TestHandlerRetriedBatchCountsOnce: a provider retries the whole of a
// batch answered 500; the events tracked the first time are duplicates the
// second.
func TestHandlerRetriedBatchCountsOnce(t *testing.T) {
	ctx := context.Background()
	body := "[" + delivered("sg-ann", "newsletter", "ann") + "," + delivered("sg-bob", "newsletter", "bob") + "]"
	s := &flakyStore{Memory: store.NewMemory(), down: map[string]bool{"bob": true}}
	e := hostileEngine(t, s, newMockClock())
	signer := sendgridtest.NewSigner(t)
	code, _, _ := serve(t, signer, e, body, time.Unix(1767603600, 0))
	require.Equal(t, http.StatusInternalServerError, code)
	s.setDown("bob", false)
	code, resp, reported := serve(t, signer, e, body, time.Unix(1767603600, 0))
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, 2, resp.Tracked)
	require.NoError(t, reported)
	for _, user := range []string{"ann", "bob"} {
		u, err := s.User(ctx, "", user)
		require.NoError(t, err, user)
		require.Len(t, u.Pending, 1, "%s waits for one resend", user)
	}
	require.Equal(t, int64(1), e.EventCounts().Duplicates)
}

// TestHandlerContextEndsMidBatch: events after the request's context ended
// are not tracked, and the error callback gets them.
func TestHandlerContextEndsMidBatch(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rec := &recorder{}
	tracker := webhook.TrackerFunc(func(ctx context.Context, ev event.Event) error {
		err := rec.Track(ctx, ev)
		cancel() // the client hangs up after the first event
		return err
	})
	var reported error
	h, err := webhook.NewHandler(returns([]event.Event{evA, evB, evC}, nil), tracker,
		webhook.WithErrorFunc(func(_ *http.Request, err error) { reported = err }))
	require.NoError(t, err)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/hook", nil).WithContext(ctx))
	require.Equal(t, http.StatusInternalServerError, w.Code)
	require.Equal(t, []string{"a"}, ids(rec.got))
	var ue *webhook.UntrackedError
	require.ErrorAs(t, reported, &ue)
	require.Equal(t, []string{"b", "c"}, ids(ue.Events))
	require.ErrorIs(t, reported, context.Canceled)
}

// TestHandlerConcurrentReplicas: two replicas on one store get the same
// signed batch at once (a provider's retry racing its first attempt);
// each user waits for one follow-up.
func TestHandlerConcurrentReplicas(t *testing.T) {
	ctx := context.Background()
	s := store.NewMemory()
	clk := newMockClock()
	replicas := []*connector.Engine{hostileEngine(t, s, clk), hostileEngine(t, s, clk)}
	body := "[" + delivered("sg-ann", "newsletter", "ann") + "," + delivered("sg-bob", "newsletter", "bob") + "]"
	signer := sendgridtest.NewSigner(t)
	for round := range 20 {
		var wg sync.WaitGroup
		codes := make([]int, len(replicas))
		for i, e := range replicas {
			p, err := sendgrid.New(signer.VerificationKey())
			require.NoError(t, err)
			h, err := webhook.NewHandler(p, e)
			require.NoError(t, err)
			r := signer.Request(t, "/webhooks/sendgrid", []byte(body), time.Unix(1767603600, 0))
			wg.Go(func() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				codes[i] = w.Code
			})
		}
		wg.Wait()
		require.Equal(t, []int{200, 200}, codes, "round %d", round)
	}
	for _, user := range []string{"ann", "bob"} {
		u, err := s.User(ctx, "", user)
		require.NoError(t, err, user)
		require.Len(t, u.Pending, 1, "%s waits for one resend", user)
	}
}
