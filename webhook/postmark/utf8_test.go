package postmark_test

import (
	"testing"

	"github.com/campaignconnector/campaignconnector/webhook"
	"github.com/campaignconnector/campaignconnector/webhook/internal/wire"
	"github.com/stretchr/testify/require"
)

// A record that is not valid UTF-8 is a bad item, not an event for the
// user its ids read as once encoding/json replaced the bad bytes with
// U+FFFD.
func TestRecordNotValidUTF8IsABadItem(t *testing.T) {
	body := []byte(`{"RecordType":"Delivery","MessageID":"pm-1","DeliveredAt":"2026-01-05T09:00:00Z",` +
		`"Metadata":{"campaign_id":"newsletter","user_id":"ann` + "\xff" + `"}}`)
	events, err := newParser(t).Parse(authed(body), body)
	require.Empty(t, events)
	items := webhook.ItemErrors(err)
	require.Len(t, items, 1)
	require.Equal(t, "pm-1", items[0].ProviderEventID)
	require.ErrorIs(t, items[0], webhook.ErrBadItem)
	require.ErrorIs(t, items[0], wire.ErrUTF8)
}

// Only the values an event is built from are checked: a record whose
// other text is not valid UTF-8 (the recipient's user agent) is kept.
func TestOtherFieldsNotValidUTF8KeepTheEvent(t *testing.T) {
	body := []byte(`{"RecordType":"Open","MessageID":"pm-1","ReceivedAt":"2026-01-05T09:00:00Z",` +
		`"UserAgent":"Mozilla ` + "\xff" + ` \udc00","Metadata":{"campaign_id":"newsletter","user_id":"ann"}}`)
	events, err := newParser(t).Parse(authed(body), body)
	require.NoError(t, err)
	require.Len(t, events, 1)
	require.Equal(t, "ann", events[0].UserID)
}
