package rule_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/stretchr/testify/require"
)

// Every way a condition's JSON can be wrong, where decoding sees it,
// wraps ErrInvalidCondition inside a *ValidationError naming the
// condition's field, as an invalid operator does after Validate: alone,
// in a trigger, an exception or a conversion, in a campaign and as stored
// (where an unknown field is dropped instead).
func TestConditionDecodingErrorsAreInvalidCondition(t *testing.T) {
	for _, tc := range []struct{ json, field string }{
		{`{"property":"a","op":1}`, "op"},
		{`{"property":"a","op":["eq"]}`, "op"},
		{`{"property":3,"op":"eq","value":1}`, "property"},
		{`{"property":{"a":1},"op":"exists"}`, "property"},
		{`"total"`, ""},
		{`42`, ""},
		{`{"property":"a","op":"eq","vaule":1}`, ""},
	} {
		unknown := strings.Contains(tc.json, "vaule")
		where := `"where":[` + tc.json + `]`
		trigger := `{"kind":"email_opened","campaign_id":"n",` + where + `}`
		conversion := `{"id":"b","kind":"purchase",` + where + `}`
		campaigns := []string{
			`{"id":"c","triggers":[` + trigger + `]}`,
			`{"id":"c","triggers":[{"kind":"email_opened","campaign_id":"n"}],"delay":{"after":"1h"},"exceptions":[` + trigger + `]}`,
			`{"id":"c","triggers":[{"kind":"email_opened","campaign_id":"n"}],"conversions":[` + conversion + `]}`,
		}
		errs := []error{
			json.Unmarshal([]byte(tc.json), new(rule.Condition)),
			json.Unmarshal([]byte(trigger), new(rule.Trigger)),
			json.Unmarshal([]byte(trigger), new(rule.Exception)),
			json.Unmarshal([]byte(conversion), new(rule.Conversion)),
		}
		for _, c := range campaigns {
			errs = append(errs, json.Unmarshal([]byte(c), new(rule.Campaign)))
			if !unknown {
				_, err := rule.DecodeStoredCampaign([]byte(c))
				errs = append(errs, err)
			}
		}
		for i, err := range errs {
			require.ErrorIs(t, err, rule.ErrInvalidCondition, "%s (%d)", tc.json, i)
			var ve *rule.ValidationError
			require.ErrorAs(t, err, &ve, "%s (%d)", tc.json, i)
			require.Equal(t, "condition", ve.Object, "%s (%d)", tc.json, i)
			require.Equal(t, tc.field, ve.Field, "%s (%d)", tc.json, i)
			require.True(t, strings.HasPrefix(err.Error(), "rule: "), err.Error())
			require.NotErrorIs(t, err, rule.ErrInvalidDelay)
		}
	}
}

// Every error decoding a rule part, of the wrong JSON type, an unknown
// field or a value that does not parse, is a *ValidationError naming the
// part and the field, wrapping no sentinel outside a delay and a
// condition; its text is unchanged.
func TestDecodingErrorsAreValidationErrors(t *testing.T) {
	for _, tc := range []struct {
		into                func() any
		json, object, field string
		campaign            string // the part's place in a campaign, if tested there
	}{
		{func() any { return new(rule.Reeligibility) }, `{"after":3600}`, "reeligibility", "after", "reeligibility"},
		{func() any { return new(rule.Reeligibility) }, `{"after":true}`, "reeligibility", "after", "reeligibility"},
		{func() any { return new(rule.Reeligibility) }, `{"after":"7d"}`, "reeligibility", "after", "reeligibility"},
		{func() any { return new(rule.Reeligibility) }, `"720h"`, "reeligibility", "", "reeligibility"},
		{func() any { return new(rule.Reeligibility) }, `{"afterr":"720h"}`, "reeligibility", "", ""},
		{func() any { return new(rule.Conversion) }, `{"id":"b","kind":"purchase","deadline":3600}`, "conversion", "deadline", "conversions"},
		{func() any { return new(rule.Conversion) }, `{"id":"b","kind":"purchase","deadline":{"hours":1}}`, "conversion", "deadline", "conversions"},
		{func() any { return new(rule.Conversion) }, `{"id":"b","kind":"purchase","deadline":"7d"}`, "conversion", "deadline", "conversions"},
		{func() any { return new(rule.Conversion) }, `{"id":3,"kind":"purchase"}`, "conversion", "id", "conversions"},
		{func() any { return new(rule.Conversion) }, `{"id":"b","kind":"purchase","deadlin":"1h"}`, "conversion", "", ""},
		{func() any { return new(rule.Conversion) }, `"bought"`, "conversion", "", "conversions"},
		{func() any { return new(rule.Conversion) }, `{"id":"b","kind":"purchas"}`, "conversion", "kind", "conversions"},
		{func() any { return new(rule.SendWindow) }, `{"from":9,"to":"17:00"}`, "send_window", "from", "send_window"},
		{func() any { return new(rule.SendWindow) }, `{"from":"9h","to":"17:00"}`, "send_window", "from", "send_window"},
		{func() any { return new(rule.SendWindow) }, `{"from":"09:00"}`, "send_window", "to", "send_window"},
		{func() any { return new(rule.SendWindow) }, `{"from":"09:00","to":"17:00","days":"monday"}`, "send_window", "days", "send_window"},
		{func() any { return new(rule.SendWindow) }, `{"from":"09:00","to":"17:00","dayz":[]}`, "send_window", "", ""},
		{func() any { return new(rule.SendWindow) }, `"09:00-17:00"`, "send_window", "", "send_window"},
		{func() any { return new(rule.TimeOfDay) }, `9`, "time_of_day", "", ""},
		{func() any { return new(rule.TimeOfDay) }, `"9h"`, "time_of_day", "", ""},
		{func() any { return new(rule.Trigger) }, `{"kind":"email_opened","campaign_id":3}`, "trigger", "campaign_id", ""},
		{func() any { return new(rule.Trigger) }, `{"kind":"email_opened","campain_id":"n"}`, "trigger", "", ""},
		{func() any { return new(rule.Exception) }, `{"kind":5}`, "exception", "kind", ""},
		{func() any { return new(rule.Exception) }, `"purchase"`, "exception", "", ""},
		{func() any { return new(rule.Campaign) }, `{"id":3}`, "campaign", "id", ""},
		{func() any { return new(rule.Campaign) }, `{"id":"c","rate_limt":1}`, "campaign", "", ""},
		{func() any { return new(rule.Campaign) }, `{"id":"c","triggers":[{"kind":"email_opened","campaign_id":"n","nmae":"x"}]}`, "campaign", "triggers[0]", ""},
		{func() any { return new(rule.Campaign) }, `{"id":"c","exceptions":[{"kind":5}]}`, "campaign", "exceptions[0].kind", ""},
		{func() any { return new(rule.Campaign) }, `"resend"`, "campaign", "", ""},
	} {
		errs := []error{json.Unmarshal([]byte(tc.json), tc.into())}
		if tc.campaign != "" {
			v := tc.json
			if tc.campaign == "conversions" {
				v = "[" + v + "]"
			}
			c := `{"id":"c","triggers":[{"kind":"email_opened","campaign_id":"n"}],"` + tc.campaign + `":` + v + `}`
			errs = append(errs, json.Unmarshal([]byte(c), new(rule.Campaign)))
			_, err := rule.DecodeStoredCampaign([]byte(c))
			errs = append(errs, err)
		}
		for i, err := range errs {
			var ve *rule.ValidationError
			require.ErrorAs(t, err, &ve, "%s (%d)", tc.json, i)
			require.Equal(t, tc.object, ve.Object, "%s (%d)", tc.json, i)
			require.Equal(t, tc.field, ve.Field, "%s (%d)", tc.json, i)
			require.NoError(t, ve.Err, "%s (%d): no sentinel", tc.json, i)
			require.True(t, strings.HasSuffix(err.Error(), strings.TrimPrefix(ve.Reason, "event: ")), "%s (%d): %v", tc.json, i, err)
			require.True(t, strings.HasPrefix(err.Error(), "rule: "), err.Error())
		}
	}
}

// A "where" key is read whatever its case, as encoding/json reads it, so
// an error inside a condition written under "WHERE" or "Where" is the
// condition's too.
func TestConditionErrorsUnderWhereInAnyCase(t *testing.T) {
	for _, where := range []string{"where", "WHERE", "Where"} {
		trigger := `{"kind":"custom_event","` + where + `":[{"property":"a","op":"exists"},{"proprety":"total"}]}`
		conversion := `{"id":"b","kind":"purchase","` + where + `":[{"property":"a","opp":"exists"}]}`
		for i, err := range []error{
			json.Unmarshal([]byte(trigger), new(rule.Trigger)),
			json.Unmarshal([]byte(trigger), new(rule.Exception)),
			json.Unmarshal([]byte(conversion), new(rule.Conversion)),
			json.Unmarshal([]byte(`{"id":"c","triggers":[`+trigger+`]}`), new(rule.Campaign)),
			json.Unmarshal([]byte(`{"id":"c","conversions":[`+conversion+`]}`), new(rule.Campaign)),
		} {
			require.ErrorIs(t, err, rule.ErrInvalidCondition, "%s (%d): %v", where, i, err)
			var ve *rule.ValidationError
			require.ErrorAs(t, err, &ve, "%s (%d)", where, i)
			require.Equal(t, "condition", ve.Object, "%s (%d): %v", where, i, err)
			require.Empty(t, ve.Field, "%s (%d): %v", where, i, err)
		}
	}
}

// A conversion with an unknown kind and an unknown field: alone, its error
// names the unknown field, and its *ValidationError is that field's, not
// the kind's; in a campaign, the error names the kind, and so does its
// *ValidationError.
func TestConversionKindAndUnknownFieldAttributed(t *testing.T) {
	conversion := `{"id":"b","kind":"zz","deadlin":"1h"}`
	err := json.Unmarshal([]byte(conversion), new(rule.Conversion))
	require.ErrorContains(t, err, `rule: conversion: unknown field "deadlin"`)
	var ve *rule.ValidationError
	require.ErrorAs(t, err, &ve)
	require.Equal(t, "conversion", ve.Object)
	require.Empty(t, ve.Field, err.Error())
	require.Contains(t, ve.Reason, `unknown field "deadlin"`)

	for _, c := range []string{
		`{"id":"c","conversions":[` + conversion + `]}`,
		`{"id":"c","conversions":[{"id":"a","kind":"purchase"},` + conversion + `]}`,
	} {
		err = json.Unmarshal([]byte(c), new(rule.Campaign))
		require.ErrorContains(t, err, `].kind: unknown event kind "zz"`)
		require.ErrorAs(t, err, &ve)
		require.Equal(t, "conversion", ve.Object, err.Error())
		require.Equal(t, "kind", ve.Field, err.Error())
		require.Contains(t, ve.Reason, `unknown event kind "zz"`, err.Error())
	}
}
