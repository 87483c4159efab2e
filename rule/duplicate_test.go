package rule_test

import (
	"encoding/json"
	"testing"

	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/stretchr/testify/require"
)

// An object that sets one field twice, with the same key or with keys
// encoding/json takes for one field as it ignores case, is refused with
// an error that names the key and where it is.
func TestDuplicateKeysAreRefused(t *testing.T) {
	for _, tc := range []struct {
		into             any
		json, place, key string
		first            string
	}{
		{new(rule.Campaign), `{"id":"c","delay":{"after":"1h"},"delay":{"after":"2h"}}`, "campaign", "delay", "delay"},
		{new(rule.Campaign), `{"id":"c","delay":{"after":"1h"},"Delay":{"after":"2h"}}`, "campaign", "Delay", "delay"},
		{new(rule.Campaign), `{"ID":"c","Id":"d"}`, "campaign", "Id", "ID"},
		{new(rule.Campaign), `{"id":"c","delay":{"after":"1h","AFTER":"2h"}}`, "campaign: delay", "AFTER", "after"},
		{new(rule.Campaign), `{"id":"c","reeligibility":{"after":"1h","after":"2h"}}`, "campaign: reeligibility", "after", "after"},
		{new(rule.Campaign), `{"id":"c","send_window":{"from":"09:00","to":"17:00","to":"18:00"}}`, "campaign: send_window", "to", "to"},
		{new(rule.Campaign), `{"id":"c","triggers":[{"kind":"email_received","campaign_id":"n"},{"kind":"email_received","campaign_id":"n","Campaign_ID":"m"}]}`,
			"campaign: triggers[1]", "Campaign_ID", "campaign_id"},
		{new(rule.Campaign), `{"id":"c","exceptions":[{"kind":"purchase","where":[{"property":"a","op":"exists","op":"eq"}]}]}`,
			"campaign: exceptions[0].where[0]", "op", "op"},
		{new(rule.Campaign), `{"id":"c","conversions":[{"id":"a","kind":"purchase"},{"id":"b","kind":"purchase","deadline":"1h","deadline":"2h"}]}`,
			"campaign: conversions[1]", "deadline", "deadline"},
		{new(rule.Campaign), `{"id":"c","conversions":[{"id":"b","kind":"purchase","where":[{"property":"a","op":"exists","Property":"b"}]}]}`,
			"campaign: conversions[0]: where[0]", "Property", "property"},
		{new(rule.Delay), `{"days":1,"at":"09:00","days":2}`, "delay", "days", "days"},
		{new(rule.Trigger), `{"kind":"purchase","name":"a","NAME":"b"}`, "trigger", "NAME", "name"},
		{new(rule.Exception), `{"kind":"purchase","kind":"purchase"}`, "exception", "kind", "kind"},
		{new(rule.Condition), `{"property":"a","op":"gt","value":1,"value":2}`, "condition", "value", "value"},
		{new(rule.Conversion), `{"id":"a","Id":"b","kind":"purchase"}`, "conversion", "Id", "id"},
		{new(rule.Campaign), `{"id":"c","d\u0065lay":{"after":"1h"},"delay":{"after":"2h"}}`, "campaign", "delay", "delay"},
		{new(rule.Campaign), " {\n\t\"id\" : \"c\" ,\r\n \"triggers\" : [ {\"kind\":\"purchase\",\"name\":\"a]}\\\"\"} ,\n" +
			" {\"kind\" : \"purchase\" , \"where\" : [ ] , \"Where\" : [ ] } ] } ", "campaign: triggers[1]", "Where", "where"},
	} {
		err := json.Unmarshal([]byte(tc.json), tc.into)
		want := `rule: ` + tc.place + `: duplicate key "` + tc.key + `"`
		if tc.key != tc.first {
			want += ` (the same field as "` + tc.first + `")`
		}
		require.EqualError(t, err, want, tc.json)
		var dk *rule.DuplicateKeyError
		require.ErrorAs(t, err, &dk, tc.json)
		require.Equal(t, rule.DuplicateKeyError{Place: tc.place, Key: tc.key, First: tc.first}, *dk, tc.json)
	}
}

// A key written once in another case than the field's is accepted, as
// encoding/json accepts it; so are repeated keys in the message, which is
// the host's, and in a condition's value.
func TestKeysInAnotherCaseAloneAreAccepted(t *testing.T) {
	var c rule.Campaign
	require.NoError(t, json.Unmarshal([]byte(`{"ID":"c","Delay":{"AFTER":"1h"},"triggers":[{"Kind":"purchase","NAME":"a"}],`+
		`"message":{"a":1,"a":2},"exceptions":[{"kind":"purchase","where":[{"property":"p","op":"eq","value":{"x":1,"x":2}}]}]}`), &c))
	require.Equal(t, "c", c.ID)
	require.Equal(t, rule.After(3600e9), c.Delay)
	require.Equal(t, "a", c.Triggers[0].Name)
	require.Equal(t, `{"a":1,"a":2}`, string(c.Message), "the message is the host's, kept whole")
}
