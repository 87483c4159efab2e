package sendgrid_test

import (
	"testing"

	"github.com/campaignconnector/campaignconnector/webhook"
	"github.com/campaignconnector/campaignconnector/webhook/internal/wire"
	"github.com/campaignconnector/campaignconnector/webhook/sendgrid/sendgridtest"
	"github.com/stretchr/testify/require"
)

// An item that is not valid UTF-8 is a bad item, not an event for the
// user its ids read as once encoding/json replaced the bad bytes with
// U+FFFD ("ann\xff" would become "ann\uFFFD", another user). The other
// items of the batch become events.
func TestItemNotValidUTF8IsABadItem(t *testing.T) {
	s := sendgridtest.NewSigner(t)
	body := []byte("[" +
		`{"event":"delivered","sg_event_id":"sg-1","timestamp":1767603600,"campaign_id":"newsletter","user_id":"ann"},` +
		`{"event":"delivered","sg_event_id":"sg-2","timestamp":1767603600,"campaign_id":"newsletter","user_id":"bob` + "\xff" + `"},` +
		`{"event":"processed","sg_event_id":"sg-3","timestamp":1767603600,"user_id":"` + "\xff" + `"}` +
		"]")
	events, err := newParser(t, s).Parse(request(t, s, body), body)
	require.Len(t, events, 1)
	require.Equal(t, "ann", events[0].UserID)
	items := webhook.ItemErrors(err)
	require.Len(t, items, 1, "the skipped event type stays skipped")
	require.Equal(t, 1, items[0].Index)
	require.Equal(t, "sg-2", items[0].ProviderEventID)
	require.ErrorIs(t, items[0], webhook.ErrBadItem)
	require.ErrorIs(t, items[0], wire.ErrUTF8)
}
