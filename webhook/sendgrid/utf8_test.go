package sendgrid_test

import (
	"testing"

	"github.com/campaignconnector/campaignconnector/webhook"
	"github.com/campaignconnector/campaignconnector/webhook/internal/wire"
	"github.com/campaignconnector/campaignconnector/webhook/sendgrid/sendgridtest"
	"github.com/stretchr/testify/require"
)

// An item that is not valid UTF-8, or escapes half a surrogate pair, is a
// bad item, not an event for the user its ids read as once encoding/json
// replaced the bad bytes with U+FFFD ("ann\xff" or "cleo\ud800" would
// become "ann\uFFFD" or "cleo\uFFFD", other users). The other items of
// the batch become events.
func TestItemNotValidUTF8IsABadItem(t *testing.T) {
	s := sendgridtest.NewSigner(t)
	body := []byte("[" +
		`{"event":"delivered","sg_event_id":"sg-1","timestamp":1767603600,"campaign_id":"newsletter","user_id":"ann"},` +
		`{"event":"delivered","sg_event_id":"sg-2","timestamp":1767603600,"campaign_id":"newsletter","user_id":"bob` + "\xff" + `"},` +
		`{"event":"processed","sg_event_id":"sg-3","timestamp":1767603600,"user_id":"` + "\xff" + `"},` +
		`{"event":"delivered","sg_event_id":"sg-4","timestamp":1767603600,"campaign_id":"newsletter","user_id":"cleo\ud800"}` +
		"]")
	events, err := newParser(t, s).Parse(request(t, s, body), body)
	require.Len(t, events, 1)
	require.Equal(t, "ann", events[0].UserID)
	items := webhook.ItemErrors(err)
	require.Len(t, items, 2, "the skipped event type stays skipped")
	for i, want := range []struct {
		index int
		id    string
	}{{1, "sg-2"}, {3, "sg-4"}} {
		require.Equal(t, want.index, items[i].Index)
		require.Equal(t, want.id, items[i].ProviderEventID)
		require.ErrorIs(t, items[i], webhook.ErrBadItem)
		require.ErrorIs(t, items[i], wire.ErrUTF8)
	}
}
