package rule_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/stretchr/testify/require"
)

// A trigger, an exception or a condition decoded on its own is as strict
// as inside a campaign: a misspelt field is an error that names it and
// the field it most likely misspells.
func TestPartsDecodedAloneRefuseUnknownFields(t *testing.T) {
	for _, tc := range []struct {
		into       any
		json, want string
	}{
		{new(rule.Trigger), `{"kind":"email_received","campain_id":"newsletter"}`,
			`rule: trigger: unknown field "campain_id" (did you mean "campaign_id"?); want ` +
				`{"kind":"email_received","campaign_id":"newsletter"}, with "target", "name" and "where" optional`},
		{new(rule.Trigger), `{"kind":"custom_event","name":"x","where":[{"property":"a","op":"exists"},{"proprety":"total","op":"ge","value":1}]}`,
			`rule: trigger: where[1]: unknown field "proprety" (did you mean "property"?)`},
		{new(rule.Exception), `{"kind":"purchase","nmae":"x"}`,
			`rule: exception: unknown field "nmae" (did you mean "name"?); want ` +
				`{"kind":"email_opened","campaign_id":"newsletter"}, with "target", "name" and "where" optional`},
		{new(rule.Condition), `{"property":"a","opp":"exists"}`,
			`rule: condition: unknown field "opp" (did you mean "op"?); want {"property":"total","op":"gt","value":50}`},
		{new([]rule.Condition), `[{"property":"a","op":"exists"},{"property":"a","op":"exists","valeu":1}]`,
			`rule: condition: unknown field "valeu" (did you mean "value"?); want {"property":"total","op":"gt","value":50}`},
	} {
		err := json.Unmarshal([]byte(tc.json), tc.into)
		require.EqualError(t, err, tc.want, tc.json)
		require.ErrorContains(t, errors.Unwrap(err), "json: unknown field", "encoding/json's error stays wrapped")
	}
}

// Alone, the other errors of a trigger, an exception or a condition are
// said in terms of the JSON too.
func TestPartsDecodedAloneSayWhatTheyWant(t *testing.T) {
	for _, tc := range []struct {
		into       any
		json, want string
	}{
		{new(rule.Trigger), `{"kind":5}`, `rule: trigger: kind: want an event kind such as "email_opened", got a number`},
		{new(rule.Trigger), `"email_received"`,
			`rule: trigger: want {"kind":"email_received","campaign_id":"newsletter"}, with "target", "name" and "where" optional, got a string`},
		{new(rule.Exception), `{"kind":"email_opend"}`, `rule: exception: kind: unknown event kind "email_opend" (did you mean "email_opened"?)`},
		{new(rule.Condition), `{"property":5,"op":"exists"}`, `rule: condition: property: want a string, got a number`},
	} {
		err := json.Unmarshal([]byte(tc.json), tc.into)
		require.EqualError(t, err, tc.want, tc.json)
	}
	err := json.Unmarshal([]byte(`{"kind":"email_opend"}`), new(rule.Trigger))
	require.ErrorIs(t, err, event.ErrUnknownKind)
}

// Decoded alone, the parts decode as they do in a campaign: numbers in
// conditions as json.Number, null as nothing.
func TestPartsDecodedAloneAsInACampaign(t *testing.T) {
	const trigger = `{"kind":"purchase","name":"sku-1","where":[{"property":"price","op":"gt","value":50}]}`
	var alone rule.Trigger
	require.NoError(t, json.Unmarshal([]byte(trigger), &alone))
	var c rule.Campaign
	require.NoError(t, json.Unmarshal([]byte(`{"id":"c","triggers":[`+trigger+`],"exceptions":[`+trigger+`]}`), &c))
	require.Equal(t, c.Triggers[0], alone)
	require.Equal(t, rule.Exception(alone), c.Exceptions[0])
	require.Equal(t, json.Number("50"), alone.Where[0].Value)

	var x rule.Exception
	require.NoError(t, json.Unmarshal([]byte(`{"kind":"email_opened","campaign_id":"n"}`), &x))
	require.Equal(t, rule.Exception{Kind: event.EmailOpened, CampaignID: "n"}, x)

	cond := rule.Equal("plan", "pro")
	require.NoError(t, json.Unmarshal([]byte(`null`), &cond))
	require.Equal(t, rule.Equal("plan", "pro"), cond)
}

// Validated on its own, a trigger or an exception names itself in its
// errors, as a conversion does.
func TestPartsValidatedAloneNameThemselves(t *testing.T) {
	where := []rule.Condition{{Property: "plan", Op: "is"}}
	for _, tc := range []struct {
		err  error
		want string
	}{
		{rule.Trigger{Kind: "email_opend", CampaignID: "n"}.Validate(), `trigger: kind: unknown kind "email_opend"`},
		{rule.Exception{Kind: event.Purchase, Where: where}.Validate(), `exception: where[0].op: unknown operator "is"`},
		{rule.Conversion{ID: "b", Kind: event.Purchase, Where: where}.Validate(), `conversion: where[0].op: unknown operator "is"`},
	} {
		require.ErrorContains(t, tc.err, tc.want)
		var ve *rule.ValidationError
		require.ErrorAs(t, tc.err, &ve)
		require.Equal(t, strings.Split(tc.want, ":")[0], ve.Object)
	}
}

// Decoded alone into a value that has fields set, a trigger, an exception
// or a condition keeps those the JSON does not set, as encoding/json keeps
// them and as they kept them before they decoded strictly; a failed
// decoding changes nothing.
func TestPartsDecodedAloneKeepFieldsTheJSONDoesNotSet(t *testing.T) {
	tr := rule.Trigger{CampaignID: "n", Name: "keep"}
	require.NoError(t, json.Unmarshal([]byte(`{"kind":"email_opened","name":"new"}`), &tr))
	require.Equal(t, rule.Trigger{Kind: event.EmailOpened, CampaignID: "n", Name: "new"}, tr)

	x := rule.Exception{Target: "link", Where: []rule.Condition{rule.Present("a")}}
	require.NoError(t, json.Unmarshal([]byte(`{"kind":"email_clicked","campaign_id":"n"}`), &x))
	require.Equal(t, rule.Exception{Kind: event.EmailClicked, CampaignID: "n", Target: "link", Where: []rule.Condition{rule.Present("a")}}, x)

	c := rule.Condition{Property: "total", Op: rule.OpGreater}
	require.NoError(t, json.Unmarshal([]byte(`{"value":50}`), &c))
	require.Equal(t, rule.Greater("total", json.Number("50")), c)

	before := tr
	require.Error(t, json.Unmarshal([]byte(`{"kind":"purchase","name":"a","nmae":"b"}`), &tr))
	require.Equal(t, before, tr)
}

// A time of day decoded alone says what is wrong under the package's
// prefix, as the other parts do ("rule: time_of_day: …"); inside a send
// window its errors name the bound instead. A failed decoding, and null,
// leave it as it is.
func TestTimeOfDayDecodedAloneSaysWhatItWants(t *testing.T) {
	for _, tc := range []struct{ json, want string }{
		{`"9h"`, `rule: time_of_day: "9h" is not HH:MM`},
		{`"25:00"`, `rule: time_of_day: "25:00" is not a time of day`},
		{`900`, `rule: time_of_day: want a time of day such as "09:00", got a number`},
		{`{"hour":9}`, `rule: time_of_day: want a time of day such as "09:00", got an object`},
		{`["09:00"]`, `rule: time_of_day: want a time of day such as "09:00", got an array`},
		{`true`, `rule: time_of_day: want a time of day such as "09:00", got true or false`},
	} {
		tod := rule.At(8, 0)
		require.EqualError(t, json.Unmarshal([]byte(tc.json), &tod), tc.want, tc.json)
		require.Equal(t, rule.At(8, 0), tod, tc.json)
	}
	tod := rule.At(8, 0)
	require.NoError(t, json.Unmarshal([]byte(`null`), &tod))
	require.Equal(t, rule.At(8, 0), tod)
	require.NoError(t, json.Unmarshal([]byte(`"09:30"`), &tod))
	require.Equal(t, rule.At(9, 30), tod)
	require.EqualError(t, tod.UnmarshalText([]byte("9h")), `rule: time_of_day: "9h" is not HH:MM`)

	var w rule.SendWindow
	require.EqualError(t, json.Unmarshal([]byte(`{"from":"09:00","to":900}`), &w),
		`rule: send_window: to: want a time of day such as "09:00", got a number`)
	require.EqualError(t, json.Unmarshal([]byte(`{"from":"09:00","to":"9h"}`), &w),
		`rule: send_window: to: "9h" is not HH:MM`)
}
