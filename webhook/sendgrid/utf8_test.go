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

// Only the values an event is built from are checked: an item whose other
// text is not valid UTF-8 (a user agent, an SMTP response) becomes its
// event, and a click whose url is not becomes one without the url.
func TestOtherFieldsNotValidUTF8KeepTheEvent(t *testing.T) {
	s := sendgridtest.NewSigner(t)
	body := []byte("[" +
		`{"event":"delivered","sg_event_id":"sg-1","timestamp":1767603600,"campaign_id":"newsletter","user_id":"ann","response":"250 ok ` + "\xff" + `"},` +
		`{"event":"open","sg_event_id":"sg-2","timestamp":1767603600,"campaign_id":"newsletter","user_id":"ann","useragent":"Mozilla \udc00"},` +
		`{"event":"click","sg_event_id":"sg-3","timestamp":1767603600,"campaign_id":"newsletter","user_id":"ann","url":"https://shop.example.com/` + "\xff" + `"}` +
		"]")
	events, err := newParser(t, s).Parse(request(t, s, body), body)
	require.NoError(t, err)
	require.Len(t, events, 3)
	require.Equal(t, []string{"sg-1", "sg-2", "sg-3"}, []string{events[0].ID, events[1].ID, events[2].ID})
	require.Nil(t, events[2].Properties, "the url encoding/json would change is left out")
}
