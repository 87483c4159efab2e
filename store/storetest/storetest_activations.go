package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/stretchr/testify/require"
)

// testCancelActivations: CancelCampaign removes the pending deliveries of
// the activations store.CancelThrough gives for the campaign's record,
// claimed or not, and leaves those of later activations (a resume that
// overtook the stop) queued as they were.
func testCancelActivations(t *testing.T, s store.Store, ns string) {
	ctx := context.Background()
	setRecord := func(id string, state rule.State, activation int64) {
		_, err := s.UpdateCampaign(ctx, ns, id, func(rec *store.CampaignRecord, _ bool) error {
			rec.Campaign, rec.State, rec.Activation = campaign(id), state, activation
			rec.CreatedAt, rec.UpdatedAt = T0, T0
			return nil
		})
		require.NoError(t, err)
	}
	at := func(user, campaignID string, activation int64, due time.Time) *store.Pending {
		p := pending(user, campaignID, user+"-"+campaignID, due)
		p.Activation = activation
		return p
	}
	// "stopped" was stopped at the end of its second activation; "resumed"
	// was stopped at the end of its first, then resumed (its second).
	setRecord("stopped", rule.Stopped, 2)
	setRecord("resumed", rule.Active, 2)
	for i, user := range []string{"a", "b", "c"} {
		activation := int64(i + 1)
		due := T0.Add(time.Duration(i) * time.Minute)
		update(t, s, ns, user, T0, func(u *store.UserState) {
			u.Pending = append(u.Pending, at(user, "stopped", activation, due), at(user, "resumed", activation, due.Add(time.Hour)))
		})
	}
	// One of them is claimed: cancelled all the same.
	claims, err := s.Claim(ctx, ns, T0, time.Minute, 1, 7)
	require.NoError(t, err)
	require.Len(t, claims, 1)
	require.Equal(t, "a-stopped", claims[0].Pending.ID)

	removedIDs := func(campaignID string) []string {
		removed, err := s.CancelCampaign(ctx, ns, campaignID)
		require.NoError(t, err)
		var ids []string
		for _, r := range removed {
			require.Equal(t, campaignID, r.Pending.CampaignID)
			ids = append(ids, r.Pending.ID)
		}
		return ids
	}
	require.ElementsMatch(t, []string{"a-stopped", "b-stopped"}, removedIDs("stopped"), "the stop ended activation 2")
	require.ElementsMatch(t, []string{"a-resumed"}, removedIDs("resumed"), "activation 2 is running")
	require.Empty(t, removedIDs("stopped"))

	left := map[string]int64{}
	for _, user := range []string{"a", "b", "c"} {
		u, err := s.User(ctx, ns, user)
		if errors.Is(err, store.ErrNotFound) {
			continue // nothing left: a's two deliveries went
		}
		require.NoError(t, err)
		for _, p := range u.Pending {
			left[p.ID] = p.Activation
		}
	}
	require.Equal(t, map[string]int64{"b-resumed": 2, "c-resumed": 3, "c-stopped": 3}, left)
	// They are still queued.
	claims, err = s.Claim(ctx, ns, T0.Add(3*time.Hour), time.Minute, 10, 8)
	require.NoError(t, err)
	require.Len(t, claims, 3)

	// Without a record, every activation's go.
	update(t, s, ns, "d", T0, func(u *store.UserState) {
		u.Pending = append(u.Pending, at("d", "unknown", 1, T0), at("d", "unknown2", 5, T0))
	})
	require.ElementsMatch(t, []string{"d-unknown"}, removedIDs("unknown"))
}
