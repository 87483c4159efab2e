package rule_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/stretchr/testify/require"
)

func storableCampaign() rule.Campaign {
	return rule.Campaign{
		ID:          "resend",
		Triggers:    []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "newsletter", Where: []rule.Condition{rule.Greater("price", 10)}}},
		Delay:       rule.After(time.Hour),
		Exceptions:  []rule.Exception{{Kind: event.EmailAliasClicked, CampaignID: "newsletter", Target: "cta"}},
		Conversions: []rule.Conversion{{ID: "bought", Kind: event.Purchase, Name: "sku"}},
		Audience:    "vip",
		Start:       time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		End:         time.Date(9999, 12, 31, 23, 59, 59, 0, time.FixedZone("x", -(23*3600+59*60))),
		Message:     json.RawMessage(`{"subject":"Did you see it? 🙂","n":[1e131071,1e-16383,-0.0]}`),
	}
}

// TestCampaignValidateRejectsWhatStoresCannotHold: every field of a
// campaign definition that a store keeps is checked like an event's: text
// with NUL bytes or invalid UTF-8, numbers without a JSON form, messages
// jsonb refuses and times RFC 3339 cannot write are ValidationErrors that
// name the field and wrap event.ErrUnstorable.
func TestCampaignValidateRejectsWhatStoresCannotHold(t *testing.T) {
	require.NoError(t, storableCampaign().Validate(), "the edges of each rule are accepted")
	cases := []struct {
		name  string
		set   func(c *rule.Campaign)
		field string
	}{
		{"id with a NUL byte", func(c *rule.Campaign) { c.ID = "re\x00send" }, "id"},
		{"id not UTF-8", func(c *rule.Campaign) { c.ID = "re\xffsend" }, "id"},
		{"audience with a NUL byte", func(c *rule.Campaign) { c.Audience = "vip\x00" }, "audience"},
		{"trigger campaign not UTF-8", func(c *rule.Campaign) { c.Triggers[0].CampaignID = "news\xc3" }, "triggers[0].campaign_id"},
		{"trigger name with a NUL byte", func(c *rule.Campaign) {
			c.Triggers[0] = rule.Trigger{Kind: event.CustomEvent, Name: "signed\x00up"}
		}, "triggers[0].name"},
		{"exception target with a NUL byte", func(c *rule.Campaign) { c.Exceptions[0].Target = "\x00" }, "exceptions[0].target"},
		{"condition property with a NUL byte", func(c *rule.Campaign) {
			c.Triggers[0].Where[0].Property = "pr\x00ice"
		}, "triggers[0].where[0].property"},
		{"condition string with a NUL byte", func(c *rule.Campaign) {
			c.Triggers[0].Where[0] = rule.Equal("plan", "pro\x00")
		}, "triggers[0].where[0].value"},
		{"condition json.Number in hexadecimal", func(c *rule.Campaign) {
			c.Triggers[0].Where[0] = rule.Greater("price", json.Number("0x1p4"))
		}, "triggers[0].where[0].value"},
		{"condition json.Number with underscores", func(c *rule.Campaign) {
			c.Triggers[0].Where[0] = rule.Equal("price", json.Number("1_000"))
		}, "triggers[0].where[0].value"},
		{"condition list with a string not UTF-8", func(c *rule.Campaign) {
			c.Triggers[0].Where[0] = rule.OneOf("plan", "pro", "fr\xffee")
		}, "triggers[0].where[0].value"},
		{"conversion id with a NUL byte", func(c *rule.Campaign) { c.Conversions[0].ID = "b\x00" }, "conversions[0].id"},
		{"conversion name not UTF-8", func(c *rule.Campaign) { c.Conversions[0].Name = "\xed\xa0\x80" }, "conversions[0].name"},
		{"message with an escaped NUL", func(c *rule.Campaign) { c.Message = json.RawMessage(`{"a":"x\u0000"}`) }, "message"},
		{"message key with an escaped NUL", func(c *rule.Campaign) { c.Message = json.RawMessage(`{"\u0000":1}`) }, "message"},
		{"message with an unpaired surrogate", func(c *rule.Campaign) { c.Message = json.RawMessage(`["\ud800"]`) }, "message"},
		{"message with a low surrogate first", func(c *rule.Campaign) { c.Message = json.RawMessage(`["\udc00\ud800"]`) }, "message"},
		{"message not UTF-8", func(c *rule.Campaign) { c.Message = json.RawMessage("{\"a\":\"\xff\"}") }, "message"},
		{"message number beyond numeric", func(c *rule.Campaign) { c.Message = json.RawMessage(`{"n":1e131072}`) }, "message"},
		{"message number too precise", func(c *rule.Campaign) {
			c.Message = json.RawMessage(`[0.` + strings.Repeat("0", 16383) + `1]`)
		}, "message"},
		{"start after the year 9999", func(c *rule.Campaign) { c.Start = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }, "start"},
		{"end in a zone offset by seconds", func(c *rule.Campaign) {
			c.End = time.Date(2027, 1, 1, 0, 0, 0, 0, time.FixedZone("LMT", 3630))
		}, "end"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := storableCampaign()
			tc.set(&c)
			err := c.Validate()
			require.ErrorIs(t, err, event.ErrUnstorable)
			var fields []string
			for _, e := range unjoinAll(err) {
				var ve *rule.ValidationError
				require.True(t, errors.As(e, &ve), "%v", e)
				if errors.Is(ve, event.ErrUnstorable) {
					fields = append(fields, ve.Field)
				}
			}
			require.Equal(t, []string{tc.field}, fields, "%v", err)
			require.NotContains(t, err.Error(), "\x00")
		})
	}
	c := storableCampaign()
	c.Message = json.RawMessage(`{"a":`)
	var ve *rule.ValidationError
	require.ErrorAs(t, c.Validate(), &ve)
	require.Equal(t, "message", ve.Field)
	require.Equal(t, "not valid JSON", ve.Reason)
}

func unjoinAll(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, unjoinAll(e)...)
		}
		return out
	}
	return []error{err}
}
