package rule_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/stretchr/testify/require"
)

// A value of the wrong JSON type inside a list is named with the indices
// of the lists it is in, as an unknown field is, at any depth, however
// its keys are written, alone, in a campaign and as stored; the
// *ValidationError's Field says the same. A value in no list keeps its
// path as it is.
func TestWrongTypeInAListIsNamedWithItsIndices(t *testing.T) {
	const (
		opWant   = `want an operator such as "gt" or "in", got a number`
		kindWant = `want an event kind such as "email_opened", got a number`
		opened   = `{"kind":"email_opened","campaign_id":"n"}`
	)
	for _, tc := range []struct {
		name, json    string
		into          func() any
		err           string
		object, field string
	}{
		{"a trigger's third condition's op", `{"kind":"email_opened","where":[{"property":"a","op":"eq","value":1},{"property":"b","op":"present"},{"property":"c","op":1}]}`,
			func() any { return new(rule.Trigger) }, `rule: trigger: where[2].op: ` + opWant, "condition", "op"},
		{"a trigger's second condition written as a number", `{"kind":"email_opened","where":[{"property":"a","op":"present"},7]}`,
			func() any { return new(rule.Trigger) }, `rule: trigger: where[1]: want an object, got a number`, "condition", ""},
		{"a trigger's target, in no list", `{"kind":"email_opened","target":1}`,
			func() any { return new(rule.Trigger) }, `rule: trigger: target: want a string, got a number`, "trigger", "target"},
		{"the second trigger's second condition's op", `{"id":"c","triggers":[` + opened + `,{"kind":"email_opened","where":[{"property":"a","op":"eq","value":"é"},{"property":"b","op":1}]}]}`,
			func() any { return new(rule.Campaign) }, `rule: campaign: triggers[1].where[1].op: ` + opWant, "condition", "op"},
		{"a trigger's kind under a folded key", "{\"id\":\"c\",\"Triggers\":[" + opened + `,` + opened + ",{\"\u212Aind\":1}]}",
			func() any { return new(rule.Campaign) }, `rule: campaign: triggers[2].kind: ` + kindWant, "campaign", "triggers[2].kind"},
		{"a condition's property, keys in other cases", "{\"id\":\"c\",\"TRIGGERS\":[" + opened + `,` + opened + ",{\"\u212Aind\":\"email_opened\",\"WHERE\":[{\"\\u0070roperty\":\"ü\",\"Op\":\"present\"},{\"PROPERTY\":true}]}]}",
			func() any { return new(rule.Campaign) }, `rule: campaign: triggers[2].where[1].property: want a string, got true or false`, "condition", "property"},
		{"the second trigger's target", `{"id":"c","triggers":[` + opened + `,{"kind":"email_opened","target":["x"]}]}`,
			func() any { return new(rule.Campaign) }, `rule: campaign: triggers[1].target: want a string, got an array`, "campaign", "triggers[1].target"},
		{"the first trigger written as an array", `{"id":"c","triggers":[[{"kind":"email_opened"}]]}`,
			func() any { return new(rule.Campaign) }, `rule: campaign: triggers[0]: want an object, got an array`, "campaign", "triggers[0]"},
		{"the second exception's kind, pretty-printed", "\n{\n  \"id\": \"c\",\n  \"triggers\": [" + opened + "],\n  \"exceptions\": [\n    {\"kind\": \"email_opened\"},\n    {\"kind\": 5}\n  ]\n}",
			func() any { return new(rule.Campaign) }, `rule: campaign: exceptions[1].kind: ` + kindWant, "campaign", "exceptions[1].kind"},
		{"the second conversion's condition's op", `{"id":"c","triggers":[` + opened + `],"conversions":[{"id":"a","kind":"purchase"},{"id":"b","kind":"purchase","where":[{"property":"a","op":"present"},{"property":"b","op":2}]}]}`,
			func() any { return new(rule.Campaign) }, `rule: campaign: conversions[1]: where[1].op: ` + opWant, "condition", "op"},
		{"a campaign's id, in no list", `{"id":3,"triggers":[` + opened + `]}`,
			func() any { return new(rule.Campaign) }, `rule: campaign: id: want a string, got a number`, "campaign", "id"},
		{"a send window's second day written as a number", `{"from":"09:00","to":"17:00","days":["monday",1]}`,
			func() any { return new(rule.SendWindow) }, `rule: send_window: days[1]: want a weekday such as "monday", got a number`, "send_window", "days[1]"},
		{"a send window's days written as a string, in no list", `{"from":"09:00","to":"17:00","days":"monday"}`,
			func() any { return new(rule.SendWindow) }, `rule: send_window: days: want an array of weekdays such as ["monday","friday"], got a string`, "send_window", "days"},
		{"a campaign's triggers written as an object, in no list", `{"id":"c","triggers":` + opened + `}`,
			func() any { return new(rule.Campaign) }, `rule: campaign: triggers: want an array, got an object`, "campaign", "triggers"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs := []error{json.Unmarshal([]byte(tc.json), tc.into())}
			if _, ok := tc.into().(*rule.Campaign); ok {
				// As stored, with a field of a newer version before the
				// value: it is dropped, the indices stay.
				stored := `{"newer":{"x":[1,2]},` + strings.TrimLeft(tc.json, "\n{")
				_, err := rule.DecodeStoredCampaign([]byte(stored))
				errs = append(errs, err)
			}
			for i, err := range errs {
				require.EqualError(t, err, tc.err, "(%d)", i)
				var ve *rule.ValidationError
				require.ErrorAs(t, err, &ve, "(%d)", i)
				require.Equal(t, tc.object, ve.Object, "(%d)", i)
				require.Equal(t, tc.field, ve.Field, "(%d)", i)
			}
		})
	}
}
