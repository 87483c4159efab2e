package sendgrid_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/webhook"
	"github.com/campaignconnector/campaignconnector/webhook/sendgrid/sendgridtest"
)

// A batch of 5,000 items without a user ID (a renamed custom argument)
// gives an error whose text names the first ten and how many more, while
// ItemErrors lists every one.
func TestManyBadItemsGiveAShortText(t *testing.T) {
	s := sendgridtest.NewSigner(t)
	var items []string
	for i := range 5000 {
		items = append(items, fmt.Sprintf(`{"event":"delivered","sg_event_id":"sg-%d","timestamp":1767603600,"campaign_id":"newsletter"}`, i))
	}
	body := []byte("[" + strings.Join(items, ",") + "]")
	events, err := newParser(t, s).Parse(request(t, s, body), body)
	require.Empty(t, events)
	require.Len(t, webhook.ItemErrors(err), 5000)
	require.ErrorIs(t, err, webhook.ErrMissingID)
	require.Less(t, len(err.Error()), 4096)
	require.True(t, strings.HasSuffix(err.Error(), "… and 4990 more errors"), err.Error())
}
