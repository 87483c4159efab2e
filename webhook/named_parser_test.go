package webhook_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/webhook"
	"github.com/campaignconnector/campaignconnector/webhook/mailgun"
	"github.com/campaignconnector/campaignconnector/webhook/postmark"
	"github.com/campaignconnector/campaignconnector/webhook/sendgrid"
	"github.com/campaignconnector/campaignconnector/webhook/ses"
	"github.com/campaignconnector/campaignconnector/webhook/twilio"
	"github.com/stretchr/testify/require"
)

// TestProviderParsersAreNamed: each provider's parser names itself as its
// item errors do.
func TestProviderParsersAreNamed(t *testing.T) {
	for want, p := range map[string]webhook.NamedParser{
		"sendgrid": &sendgrid.Parser{},
		"mailgun":  &mailgun.Parser{},
		"postmark": &postmark.Parser{},
		"ses":      &ses.Parser{},
		"twilio":   &twilio.Parser{},
	} {
		require.Equal(t, want, p.Provider())
	}
}

// named is an IndexedParser that names its provider.
type named struct {
	indexed
	name string
}

func (n named) Provider() string { return n.name }

// TestRejectedEventsNameTheProvider: an event the engine rejects is
// reported under the name of a NamedParser, like the parser's own items,
// and under no name for another parser, whether the handler hands the
// engine the batch or each event.
func TestRejectedEventsNameTheProvider(t *testing.T) {
	bad := event.Event{ID: "bad", Kind: event.EmailOpened, CampaignID: "n"} // no user
	p := indexed{[]event.Event{evA, bad}, []int{0, 4}, nil}
	for _, tc := range []struct {
		name   string
		parser webhook.Parser
		want   string
	}{
		{"a NamedParser", named{p, "acme"}, `acme: item 4 (id "bad"): `},
		{"a plain parser", p, `item 4 (id "bad"): `},
	} {
		for _, batch := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s, batch %v", tc.name, batch), func(t *testing.T) {
				rec := &recorder{}
				var tracker webhook.Tracker = rec
				if batch {
					tracker = batchRecorder{rec}
				}
				var reported error
				h, err := webhook.NewHandler(tc.parser, tracker, webhook.WithErrorFunc(func(_ *http.Request, err error) { reported = err }))
				require.NoError(t, err)
				w := httptest.NewRecorder()
				h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/hook", strings.NewReader("{}")))
				require.Equal(t, http.StatusOK, w.Code)
				var resp webhook.Response
				require.NoError(t, json.Unmarshal(w.Body.Bytes(), &resp))
				require.Len(t, resp.Errors, 1)
				require.True(t, strings.HasPrefix(resp.Errors[0].Error, tc.want), resp.Errors[0].Error)
				require.True(t, strings.HasPrefix(reported.Error(), tc.want), reported.Error())
			})
		}
	}
}
