package mailgun_test

import (
	"testing"

	"github.com/campaignconnector/campaignconnector/webhook"
	"github.com/campaignconnector/campaignconnector/webhook/internal/wire"
	"github.com/stretchr/testify/require"
)

// An event that is not valid UTF-8 is a bad item, not an event for the
// user its ids read as once encoding/json replaced the bad bytes with
// U+FFFD.
func TestEventNotValidUTF8IsABadItem(t *testing.T) {
	data := []byte(`{"event":"delivered","id":"mg-1","timestamp":1767776400,` +
		`"user-variables":{"campaign_id":"newsletter","user_id":"ann` + "\xff" + `"}}`)
	body := signer.Body(data, now)
	events, err := newParser(t).Parse(request(body), body)
	require.Empty(t, events)
	items := webhook.ItemErrors(err)
	require.Len(t, items, 1)
	require.Equal(t, "mg-1", items[0].ProviderEventID)
	require.ErrorIs(t, items[0], webhook.ErrBadItem)
	require.ErrorIs(t, items[0], wire.ErrUTF8)
}

// Only the values an event is built from are checked: an event whose
// other text is not valid UTF-8 (the SMTP response) is kept.
func TestOtherFieldsNotValidUTF8KeepTheEvent(t *testing.T) {
	data := []byte(`{"event":"delivered","id":"mg-1","timestamp":1767776400,` +
		`"delivery-status":{"message":"250 ok ` + "\xff" + ` \ud800"},` +
		`"user-variables":{"campaign_id":"newsletter","user_id":"ann"}}`)
	body := signer.Body(data, now)
	events, err := newParser(t).Parse(request(body), body)
	require.NoError(t, err)
	require.Len(t, events, 1)
	require.Equal(t, "ann", events[0].UserID)
}
