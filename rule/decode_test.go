package rule_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/stretchr/testify/require"
)

const delayWant = `want {"after":"72h"}, {"weekday":"monday","at":"10:00"}, {"days":2,"at":"09:00"} or null (immediately)`

// sendWindowWant is the send window's shape, as its errors show it.
const sendWindowWant = `{"from":"09:00","to":"17:00"}, with "days":["monday",…] and "next_available":true optional`

func TestDecodingErrorsShowTheAcceptedShapes(t *testing.T) {
	cases := []struct {
		name string
		into any
		json string
		want string
	}{
		{"a delay written as a string", new(rule.Delay), `"72h"`,
			`rule: delay: ` + delayWant + `, got a string`},
		{"a delay written as a number", new(rule.Delay), `72`,
			`rule: delay: ` + delayWant + `, got a number`},
		{"a delay's duration written as a number", new(rule.Delay), `{"after":72}`,
			`rule: delay: after: want a duration such as "72h" or "90m", got a number`},
		{"a delay's days written as a string", new(rule.Delay), `{"days":"2","at":"09:00"}`,
			`rule: delay: days: want a whole number of days such as 2, got a string`},
		{"a misspelt delay field", new(rule.Delay), `{"afterr":"72h"}`,
			`rule: delay: unknown field "afterr" (did you mean "after"?); ` + delayWant},
		{"a duration in days", new(rule.Delay), `{"after":"7d"}`,
			`rule: delay: after: time: unknown unit "d" in duration "7d"; want a duration such as "72h" or "90m" (no days: "168h" is a week) (invalid delay)`},
		{"a delay of two kinds", new(rule.Delay), `{"after":"1h","days":2}`,
			`rule: delay: give one of after, weekday or days (invalid delay)`},
		{"a delay's time of day alone", new(rule.Delay), `{"at":"09:00"}`,
			`rule: delay: at: needs weekday or days (invalid delay)`},
		{"a re-eligibility in days", new(rule.Reeligibility), `{"after":"30d"}`,
			`rule: reeligibility: after: time: unknown unit "d" in duration "30d"; want a duration such as "72h" or "90m" (no days: "720h" is 30 days)`},
		{"a re-eligibility written as a string", new(rule.Reeligibility), `"720h"`,
			`rule: reeligibility: want {"after":"720h"} or null (once only), got a string`},
		{"a send window written as a string", new(rule.SendWindow), `"09:00-17:00"`,
			`rule: send_window: want {"from":"09:00","to":"17:00"}, with "days":["monday",…] and "next_available":true optional, got a string`},
		{"a send window's time written as a number", new(rule.SendWindow), `{"from":9,"to":"17:00"}`,
			`rule: send_window: from: want a time of day such as "09:00", got a number`},
		{"a send window's days written as a string", new(rule.SendWindow), `{"from":"09:00","to":"17:00","days":"monday"}`,
			`rule: send_window: days: want an array of weekdays such as ["monday","friday"], got a string`},
		{"a conversion written as a string", new(rule.Conversion), `"bought"`,
			`rule: conversion: want {"id":"bought","kind":"purchase"}, with "campaign_id", "target", "name", "where" and "deadline":"72h" optional, got a string`},
		{"a conversion's deadline written as a number", new(rule.Conversion), `{"id":"x","kind":"purchase","deadline":72}`,
			`rule: conversion: deadline: want a duration such as "72h" or "90m", got a number`},
		{"a campaign written as a string", new(rule.Campaign), `"resend"`,
			`rule: campaign: want an object such as {"id":"resend","triggers":[{"kind":"email_received","campaign_id":"newsletter"}],"delay":{"after":"168h"}}, got a string`},
		{"a campaign's delay written as a string", new(rule.Campaign), `{"id":"resend","delay":"72h"}`,
			`rule: campaign: delay: ` + delayWant + `, got a string`},
		{"a campaign's send window's time malformed", new(rule.Campaign), `{"id":"resend","send_window":{"from":"9h","to":"17:00"}}`,
			`rule: campaign: send_window: from: "9h" is not HH:MM`},
		{"a send window's end out of range", new(rule.SendWindow), `{"from":"09:00","to":"25:00"}`,
			`rule: send_window: to: "25:00" is not a time of day`},
		{"a send window without its end", new(rule.SendWindow), `{"from":"09:00"}`,
			`rule: send_window: to: missing; want ` + sendWindowWant + ` ("to" equal to "from" is the whole day)`},
		{"a send window without bounds", new(rule.SendWindow), `{}`,
			`rule: send_window: from: missing; want ` + sendWindowWant + ` ("to" equal to "from" is the whole day)`},
		{"a send window whose start is null", new(rule.SendWindow), `{"from":null,"to":"17:00"}`,
			`rule: send_window: from: missing; want ` + sendWindowWant + ` ("to" equal to "from" is the whole day)`},
		{"a campaign's send window without its end", new(rule.Campaign), `{"id":"c","send_window":{"from":"09:00"}}`,
			`rule: campaign: send_window: to: missing; want ` + sendWindowWant + ` ("to" equal to "from" is the whole day)`},
		{"a campaign's conversion's field misspelt", new(rule.Campaign), `{"id":"c","conversions":[{"id":"x","kind":"purchase","deadlin":"1h"}]}`,
			`rule: campaign: conversions[0]: unknown field "deadlin" (did you mean "deadline"?); want {"id":"bought","kind":"purchase"}, with "campaign_id", "target", "name", "where" and "deadline":"72h" optional`},
		{"a campaign's triggers written as an object", new(rule.Campaign), `{"id":"resend","triggers":{"kind":"email_received"}}`,
			`rule: campaign: triggers: want an array, got an object`},
		{"a trigger's kind written as a number", new(rule.Campaign), `{"id":"resend","triggers":[{"kind":5}]}`,
			`rule: campaign: triggers[0].kind: want an event kind such as "email_opened", got a number`},
		{"a campaign's pending policy written as a number", new(rule.Campaign), `{"id":"resend","pending_policy":1}`,
			`rule: campaign: pending_policy: want "replace_with_latest" or "allow_parallel" (none: keep the first), got a number`},
		{"a campaign's ID written as a number", new(rule.Campaign), `{"id":5}`,
			`rule: campaign: id: want a string, got a number`},
		{"a campaign's start malformed", new(rule.Campaign), `{"id":"resend","start":"yesterday"}`,
			`rule: campaign: start: want an RFC 3339 time such as "2026-03-01T09:00:00Z", got "yesterday"`},
		{"a campaign's end written as a number", new(rule.Campaign), `{"id":"resend","end":5}`,
			`rule: campaign: end: want an RFC 3339 time such as "2026-03-01T09:00:00Z", got 5`},
		{"a misspelt campaign field", new(rule.Campaign), `{"id":"resend","delays":{"after":"72h"}}`,
			`rule: campaign: unknown field "delays" (did you mean "delay"?); want an object such as {"id":"resend","triggers":[{"kind":"email_received","campaign_id":"newsletter"}],"delay":{"after":"168h"}}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := json.Unmarshal([]byte(tc.json), tc.into)
			require.EqualError(t, err, tc.want)
			for _, leak := range []string{"Go value", "Go struct", "delayJSON", "plain", "sendWindowJSON", "conversionJSON"} {
				require.NotContains(t, err.Error(), leak)
			}
		})
	}
}

func TestDecodingErrorsKeepEncodingJSONsError(t *testing.T) {
	var d rule.Delay
	err := json.Unmarshal([]byte(`"72h"`), &d)
	var te *json.UnmarshalTypeError
	require.True(t, errors.As(err, &te), "%T", err)
	require.Equal(t, "string", te.Value)

	var c rule.Campaign
	err = json.Unmarshal([]byte(`{"id":"x","delay":{"after":"7d"}}`), &c)
	require.ErrorIs(t, err, rule.ErrInvalidDelay)
	var ve *rule.ValidationError
	require.ErrorAs(t, err, &ve)
	require.Equal(t, "after", ve.Field)
}

func TestDecodingAcceptsWhatItEncodes(t *testing.T) {
	// The shapes the errors show are accepted.
	for _, s := range []string{`{"after":"72h"}`, `{"weekday":"monday","at":"10:00"}`, `{"days":2,"at":"09:00"}`, `null`} {
		var d rule.Delay
		require.NoError(t, json.Unmarshal([]byte(s), &d), s)
	}
	var r rule.Reeligibility
	require.NoError(t, json.Unmarshal([]byte(`{"after":"720h"}`), &r))
	var w rule.SendWindow
	require.NoError(t, json.Unmarshal([]byte(`{"from":"09:00","to":"17:00","days":["monday"],"next_available":true}`), &w))
	var cv rule.Conversion
	require.NoError(t, json.Unmarshal([]byte(`{"id":"bought","kind":"purchase","deadline":"72h"}`), &cv))
	var c rule.Campaign
	example := `{"id":"resend","triggers":[{"kind":"email_received","campaign_id":"newsletter"}],"delay":{"after":"168h"}}`
	require.NoError(t, json.Unmarshal([]byte(example), &c))
	require.True(t, strings.HasPrefix(c.Delay.String(), "after 168h"))
}

func TestUnknownFieldSuggestsTheNearest(t *testing.T) {
	for key, want := range map[string]string{
		"rate_limt":                      "rate_limit",
		"rateLimit":                      "rate_limit",
		"RateLimit":                      "rate_limit",
		"rate-limit":                     "rate_limit",
		"send_windo":                     "send_window",
		"triger":                         "triggers",
		"trig":                           "", // under six bytes: one edit at most
		"triggerz":                       "triggers",
		"added_later":                    "",
		"x":                              "",
		strings.Repeat("rate_limit", 10): "",
	} {
		err := json.Unmarshal([]byte(`{"id":"c",`+strconvQuote(key)+`:1}`), new(rule.Campaign))
		require.ErrorContains(t, err, `unknown field `+strconvQuote(key))
		if want == "" {
			require.NotContains(t, err.Error(), "did you mean", key)
		} else {
			require.ErrorContains(t, err, `(did you mean "`+want+`"?)`, key)
		}
	}
}

func strconvQuote(s string) string { b, _ := json.Marshal(s); return string(b) }

// With several unknown fields, the error names the first one written, as
// encoding/json does, every time: not one chosen at random.
func TestUnknownFieldIsTheFirstWritten(t *testing.T) {
	const in = `{"id":"c","zzz":1,"delays":2,"rate_limt":3,"yyy":4}`
	for range 50 {
		err := json.Unmarshal([]byte(in), new(rule.Campaign))
		require.ErrorContains(t, err, `unknown field "zzz";`)
	}
}

// A misspelt field inside a trigger, an exception or a condition is named
// with where it is and the field it most likely misspells, as one of the
// campaign's own fields is.
func TestUnknownFieldInsideAListSaysWhereAndSuggests(t *testing.T) {
	for _, tc := range []struct{ json, want string }{
		{`{"id":"c","triggers":[{"kind":"email_received","campaign_id":"n"},{"kind":"email_received","campain_id":"n"}]}`,
			`rule: campaign: triggers[1]: unknown field "campain_id" (did you mean "campaign_id"?)`},
		{`{"id":"c","exceptions":[{"kind":"purchase","nmae":"x"}]}`,
			`rule: campaign: exceptions[0]: unknown field "nmae" (did you mean "name"?)`},
		{`{"id":"c","triggers":[{"kind":"custom_event","name":"x","where":[{"property":"a","op":"exists"},{"proprety":"total","op":"ge","value":1}]}]}`,
			`rule: campaign: triggers[0].where[1]: unknown field "proprety" (did you mean "property"?)`},
		{`{"id":"c","conversions":[{"id":"b","kind":"purchase","where":[{"property":"a","opp":"exists"}]}]}`,
			`rule: campaign: conversions[0]: where[0]: unknown field "opp" (did you mean "op"?)`},
	} {
		err := json.Unmarshal([]byte(tc.json), new(rule.Campaign))
		require.EqualError(t, err, tc.want, tc.json)
		require.ErrorContains(t, errors.Unwrap(err), "json: unknown field", "encoding/json's error stays wrapped")
	}
}

// An error inside a conversion names the conversion by its place in the
// list, as one inside a trigger does: "conversion" alone does not say which
// of a campaign's conversions to correct.
func TestErrorInsideAConversionSaysWhichOne(t *testing.T) {
	for _, tc := range []struct{ json, want string }{
		{`{"id":"c","conversions":[{"id":"a","kind":"purchase"},{"id":"b","kind":"purchase","deadlin":"1h"}]}`,
			`rule: campaign: conversions[1]: unknown field "deadlin" (did you mean "deadline"?); want ` +
				`{"id":"bought","kind":"purchase"}, with "campaign_id", "target", "name", "where" and "deadline":"72h" optional`},
		{`{"id":"c","conversions":[{"id":"a","kind":"purchase","where":[{"property":"a","op":"exists"}]},` +
			`{"id":"b","kind":"purchase","where":[{"property":"a","op":"exists"},{"property":"a","opp":"exists"}]}]}`,
			`rule: campaign: conversions[1]: where[1]: unknown field "opp" (did you mean "op"?)`},
		{`{"id":"c","conversions":[{"id":"a","kind":"purchase"},{"id":"b","kind":"purchase"},{"id":"d","kind":"purchase","deadline":72}]}`,
			`rule: campaign: conversions[2]: deadline: want a duration such as "72h" or "90m", got a number`},
	} {
		err := json.Unmarshal([]byte(tc.json), new(rule.Campaign))
		require.EqualError(t, err, tc.want, tc.json)
	}
}

// A malformed deadline, or a day of a send window that is not a weekday,
// says where it is, as the other errors of those parts do.
func TestMalformedValuesSayWhereTheyAre(t *testing.T) {
	for _, tc := range []struct {
		into       any
		json, want string
	}{
		{new(rule.Campaign), `{"id":"c","conversions":[{"id":"a","kind":"purchase","deadline":"1h"},{"id":"b","kind":"purchase","deadline":"7d"}]}`,
			`rule: campaign: conversions[1]: deadline: time: unknown unit "d" in duration "7d"`},
		{new(rule.Conversion), `{"id":"b","kind":"purchase","deadline":"7d"}`,
			`rule: conversion: deadline: time: unknown unit "d" in duration "7d"`},
		{new(rule.Campaign), `{"id":"c","send_window":{"from":"09:00","to":"17:00","days":["monday","funday"]}}`,
			`rule: campaign: send_window: days[1]: "funday" is not a weekday`},
		{new(rule.SendWindow), `{"from":"09:00","to":"17:00","days":["funday"]}`,
			`rule: send_window: days[0]: "funday" is not a weekday`},
	} {
		err := json.Unmarshal([]byte(tc.json), tc.into)
		require.EqualError(t, err, tc.want, tc.json)
		var ve *rule.ValidationError
		require.ErrorAs(t, err, &ve, "the validation error stays wrapped")
	}
}

// Every way a delay's JSON can be wrong wraps ErrInvalidDelay, a value of
// the wrong JSON type and an unknown field as a value that does not parse
// does, alone, in a campaign and as stored (where an unknown field is
// dropped instead), and errors.As finds the *ValidationError naming the
// field.
func TestDelayDecodingErrorsAreInvalidDelay(t *testing.T) {
	for _, tc := range []struct{ json, field string }{
		{`{"after":"7d"}`, "after"},
		{`{"after":3600}`, "after"},
		{`{"after":{"hours":1}}`, "after"},
		{`{"after":["1h"]}`, "after"},
		{`{"after":true}`, "after"},
		{`{"weekday":1,"at":"09:00"}`, "weekday"},
		{`{"weekday":"monday","at":900}`, "at"},
		{`{"days":"2","at":"09:00"}`, "days"},
		{`{"days":2.5,"at":"09:00"}`, "days"},
		{`{"afterr":"72h"}`, ""},
		{`"72h"`, ""},
		{`72`, ""},
		{`[]`, ""},
		{`true`, ""},
	} {
		campaign := `{"id":"c","triggers":[{"kind":"email_opened","campaign_id":"n"}],"delay":` + tc.json + `}`
		var errs []error
		errs = append(errs, json.Unmarshal([]byte(tc.json), new(rule.Delay)))
		errs = append(errs, json.Unmarshal([]byte(campaign), new(rule.Campaign)))
		if !strings.Contains(tc.json, "afterr") {
			_, err := rule.DecodeStoredCampaign([]byte(campaign))
			errs = append(errs, err)
		}
		for i, err := range errs {
			require.ErrorIs(t, err, rule.ErrInvalidDelay, "%s (%d)", tc.json, i)
			var ve *rule.ValidationError
			require.ErrorAs(t, err, &ve, "%s (%d)", tc.json, i)
			require.Equal(t, "delay", ve.Object, tc.json)
			require.Equal(t, tc.field, ve.Field, tc.json)
			require.True(t, strings.HasPrefix(err.Error(), "rule: "), err.Error())
		}
	}
}
