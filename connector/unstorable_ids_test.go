package connector_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/stretchr/testify/require"
)

// textOnlyStore is a memory store that fails, as PostgreSQL does, a call
// naming a campaign or a user with an ID that is not valid text, and
// counts those calls.
type textOnlyStore struct {
	*store.Memory
	asked atomic.Int32
}

var errEncoding = errors.New(`ERROR: invalid byte sequence for encoding "UTF8": 0x00 (SQLSTATE 22021)`)

func (s *textOnlyStore) refuse(id string) error {
	if event.CheckText(id) != nil {
		s.asked.Add(1)
		return errEncoding
	}
	return nil
}

func (s *textOnlyStore) UpdateCampaign(ctx context.Context, ns, id string, fn func(*store.CampaignRecord, bool) error) (store.CampaignRecord, error) {
	if err := s.refuse(id); err != nil {
		return store.CampaignRecord{}, err
	}
	return s.Memory.UpdateCampaign(ctx, ns, id, fn)
}

func (s *textOnlyStore) User(ctx context.Context, ns, userID string) (store.UserState, error) {
	if err := s.refuse(userID); err != nil {
		return store.UserState{}, err
	}
	return s.Memory.User(ctx, ns, userID)
}

// unstorableIDs are IDs no campaign, user or delivery can have.
var unstorableIDs = []string{"a\x00b", "\xff", "ok\xef\xbf"}

// A lifecycle change naming an ID no campaign can have is an unknown
// campaign, whatever the store: the store is not asked, so one that
// cannot hold the text does not fail the call as if it were down.
func TestLifecycleChangeOfAnIDNoCampaignCanHave(t *testing.T) {
	ctx := context.Background()
	s := &textOnlyStore{Memory: store.NewMemory()}
	e := newEngine(t, s, connector.SenderFunc(func(context.Context, connector.Delivery) error { return nil }), clock.NewMock())
	require.NoError(t, e.Save(ctx, rule.Campaign{ID: "c"}))
	ids := append([]string{"", strings.Repeat("x", rule.MaxIDLength+1)}, unstorableIDs...)
	for op, do := range map[string]func(string) error{
		"stop":    func(id string) error { return e.Stop(ctx, id) },
		"publish": func(id string) error { return e.Publish(ctx, id) },
		"archive": func(id string) error { return e.Archive(ctx, id) },
	} {
		for _, id := range ids {
			err := do(id)
			require.ErrorIs(t, err, connector.ErrUnknownCampaign, "%s %q", op, id)
			require.NotErrorIs(t, err, errEncoding, "%s %q", op, id)
		}
	}
	require.Zero(t, s.asked.Load(), "calls the store was asked to make with IDs it cannot hold")
	require.NoError(t, e.Publish(ctx, "c"), "a valid ID still goes to the store")
	rec, err := e.Campaign(ctx, "c")
	require.NoError(t, err)
	require.Equal(t, rule.Active, rec.State)
}

// Explain of a user ID no event can carry explains nothing known, as of a
// user never tracked, without asking the store.
func TestExplainOfAnIDNoUserCanHave(t *testing.T) {
	ctx := context.Background()
	s := &textOnlyStore{Memory: store.NewMemory()}
	e := newEngine(t, s, connector.SenderFunc(func(context.Context, connector.Delivery) error { return nil }), clock.NewMock(),
		connector.WithDecisionLog(10, time.Hour))
	require.NoError(t, e.Save(ctx, rule.Campaign{ID: "c"}))
	ids := append([]string{"", strings.Repeat("u", event.MaxIDBytes+1)}, unstorableIDs...)
	for _, id := range ids {
		x, err := e.Explain(ctx, id, "c")
		require.NoError(t, err, "%q", id)
		require.Equal(t, connector.Explanation{UserID: id, CampaignID: "c"}, x, "%q", id)
		x, err = e.Explain(ctx, id, "nope")
		require.NoError(t, err, "%q", id)
		require.True(t, x.CampaignUnknown, "%q: the campaign is still looked up", id)
		all, err := e.ExplainUser(ctx, id)
		require.NoError(t, err, "%q", id)
		require.Empty(t, all, "%q", id)
	}
	require.Zero(t, s.asked.Load(), "reads the store was asked to make with IDs it cannot hold")
}

// A pending-deliveries query naming an ID no delivery or campaign can
// have is an invalid query, which names the field, on every store.
func TestPendingQueryOfAnIDNoDeliveryCanHave(t *testing.T) {
	ctx := context.Background()
	e := newEngine(t, store.NewMemory(), connector.SenderFunc(func(context.Context, connector.Delivery) error { return nil }), clock.NewMock())
	for _, id := range unstorableIDs {
		for field, q := range map[string]store.PendingQuery{
			"campaign_id": {CampaignID: id},
			"after_id":    {AfterDue: time.Unix(0, 0), AfterID: id},
		} {
			got, err := e.PendingDeliveries(ctx, q)
			require.ErrorIs(t, err, store.ErrInvalidQuery, "%s %q: got %v", field, id, got)
			var ve *rule.ValidationError
			require.ErrorAs(t, err, &ve, "%s %q", field, id)
			require.Equal(t, field, ve.Field)
		}
	}
	got, err := e.PendingDeliveries(ctx, store.PendingQuery{CampaignID: "c", AfterDue: time.Unix(0, 0), AfterID: "x"})
	require.NoError(t, err, "valid IDs")
	require.Empty(t, got)
}

// A campaign the store holds under an ID Save refuses (written to the
// store by other means: a host's tool, its own store) is one the engine
// knows: it lists it, runs it, and stops, resumes and archives it, as
// before the engine refused such IDs unasked. Only an ID the engine does
// not know is refused without asking the store.
func TestLifecycleChangeOfAStoredCampaignWithAnIDSaveRefuses(t *testing.T) {
	ctx := context.Background()
	s := store.NewMemory()
	ids := []string{strings.Repeat("x", rule.MaxIDLength+1), "\xff"}
	for _, id := range ids {
		_, err := s.UpdateCampaign(ctx, "", id, func(rec *store.CampaignRecord, _ bool) error {
			*rec = store.CampaignRecord{Campaign: rule.Campaign{ID: id}, State: rule.Active, Activation: 1}
			return nil
		})
		require.NoError(t, err)
	}
	e := newEngine(t, s, connector.SenderFunc(func(context.Context, connector.Delivery) error { return nil }), clock.NewMock())
	for _, id := range ids {
		_, err := e.Campaign(ctx, id)
		require.NoError(t, err, "%.12q: the engine knows it", id)
		require.NoError(t, e.Stop(ctx, id), "%.12q", id)
		require.NoError(t, e.Publish(ctx, id), "%.12q", id)
		require.NoError(t, e.Archive(ctx, id), "%.12q", id)
		rec, err := e.Campaign(ctx, id)
		require.NoError(t, err)
		require.Equal(t, rule.Archived, rec.State, "%.12q", id)
	}
	require.ErrorIs(t, e.Stop(ctx, ids[0]+"y"), connector.ErrUnknownCampaign, "an ID no campaign has")
}
