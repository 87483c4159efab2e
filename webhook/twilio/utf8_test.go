package twilio_test

import (
	"testing"

	"github.com/campaignconnector/campaignconnector/webhook"
	"github.com/campaignconnector/campaignconnector/webhook/internal/wire"
	"github.com/stretchr/testify/require"
)

// A click event that is not valid UTF-8 is a bad item, not an event whose
// link (and id, which hashes it) encoding/json changed by replacing the
// bad bytes with U+FFFD.
func TestClickNotValidUTF8IsABadItem(t *testing.T) {
	body := []byte(`{"event_type":"click","sms_sid":"` + sid + `","click_time":"2026-01-05T09:00:00Z",` +
		`"link":"https://shop.example.com/` + "\xff" + `"}`)
	events, err := newParser(t).Parse(signer.JSONRequest(callback, body), body)
	require.Empty(t, events)
	items := webhook.ItemErrors(err)
	require.Len(t, items, 1)
	require.Equal(t, sid, items[0].ProviderEventID)
	require.ErrorIs(t, items[0], webhook.ErrBadItem)
	require.ErrorIs(t, items[0], wire.ErrUTF8)
}

// Only the values an event is built from are checked: a click whose other
// text is not valid UTF-8 is kept.
func TestOtherFieldsNotValidUTF8KeepTheEvent(t *testing.T) {
	body := []byte(`{"event_type":"click","sms_sid":"` + sid + `","click_time":"2026-01-05T09:00:00Z",` +
		`"link":"https://shop.example.com/","user_agent":"Mozilla ` + "\xff" + ` \udc00"}`)
	events, err := newParser(t).Parse(signer.JSONRequest(callback, body), body)
	require.NoError(t, err)
	require.Len(t, events, 1)
}
