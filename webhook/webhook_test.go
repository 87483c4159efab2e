package webhook_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/campaignconnector/campaignconnector/webhook"
	"github.com/stretchr/testify/require"
)

func TestMappingResolve(t *testing.T) {
	meta := map[string]string{"campaign_id": "newsletter", "user_id": "ann", "cid": "promo", "uid": "bob"}
	get := func(k string) string { return meta[k] }
	tests := []struct {
		name           string
		m              webhook.Mapping
		campaign, user string
		missing        string // the field named in the error, "" for none
	}{
		{name: "zero mapping uses defaults", campaign: "newsletter", user: "ann"},
		{name: "custom keys", m: webhook.Mapping{CampaignKey: "cid", UserKey: "uid"}, campaign: "promo", user: "bob"},
		{name: "half custom", m: webhook.Mapping{UserKey: "uid"}, campaign: "newsletter", user: "bob"},
		{name: "missing campaign", m: webhook.Mapping{CampaignKey: "nope"}, user: "ann", missing: `"nope"`},
		{name: "missing user", m: webhook.Mapping{UserKey: "nope"}, campaign: "newsletter", missing: `"nope"`},
		{name: "missing both", m: webhook.Mapping{CampaignKey: "x", UserKey: "y"}, missing: `"x" nor "y"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, u, err := tc.m.Resolve(get)
			require.Equal(t, tc.campaign, c)
			require.Equal(t, tc.user, u)
			if tc.missing == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, webhook.ErrMissingID)
			require.Contains(t, err.Error(), tc.missing)
		})
	}
	ck, uk := webhook.Mapping{}.Keys()
	require.Equal(t, []string{"campaign_id", "user_id"}, []string{ck, uk})
}

func TestItemErrors(t *testing.T) {
	a := &webhook.ItemError{Provider: "p", Index: 0, Err: webhook.ErrBadItem}
	b := &webhook.ItemError{Provider: "p", Index: 2, ProviderEventID: "id-2", Err: webhook.ErrMissingID}
	payload := fmt.Errorf("p: %w: %w", webhook.ErrPayload, errors.New("unexpected EOF"))
	tests := []struct {
		name string
		err  error
		want []*webhook.ItemError
	}{
		{"nil", nil, nil},
		{"joined", errors.Join(a, b), []*webhook.ItemError{a, b}},
		{"nested joins", errors.Join(errors.Join(a), b), []*webhook.ItemError{a, b}},
		{"single", a, []*webhook.ItemError{a}},
		{"request error with two %w is not taken apart", payload, nil},
		{"wrapped item errors are not items of the batch", fmt.Errorf("x: %w", a), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, webhook.ItemErrors(tc.err))
		})
	}
	require.Equal(t, `p: item 2 (id "id-2"): webhook: campaign or user id missing`, b.Error())
	require.Equal(t, `item 0: webhook: malformed item`, (&webhook.ItemError{Err: webhook.ErrBadItem}).Error())
	require.ErrorIs(t, errors.Join(a, b), webhook.ErrMissingID)
}
