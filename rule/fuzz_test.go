package rule_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
)

// FuzzCampaignJSON: any input decodes or fails cleanly; a decoded campaign
// validates or fails with ValidationErrors; a valid one round-trips.
func FuzzCampaignJSON(f *testing.F) {
	for _, s := range []string{
		`{"id":"resend","triggers":[{"kind":"email_received","campaign_id":"n"}],"delay":{"after":"168h"},"exceptions":[{"kind":"email_opened","campaign_id":"n"}]}`,
		`{"id":"c","triggers":[{"kind":"purchase","where":[{"property":"p","op":"gt","value":1.5},{"property":"c","op":"in","value":["a",1]}]}],"delay":{"weekday":"monday","at":"09:00"},"reeligibility":{"after":"0s"}}`,
		`{"id":"w","triggers":[{"kind":"custom_event","name":"x"}],"delay":{"days":2,"at":"23:59"},"send_window":{"from":"22:00","to":"06:00","days":["friday"],"next_available":true},"conversions":[{"id":"b","kind":"purchase","deadline":"72h"}],"control_percent":50,"pending_policy":"allow_parallel","rate_limit":5}`,
		`{"id":"x","delay":{"after":"-1h"}}`, `{"id":"x","triggers":[{"kind":"nope"}]}`, `{"id":"x","message":{"a":[1,2]}}`, `null`,
		`{"id":"x\u0000","audience":"\ud800"}`, `{"id":"x","message":{"a":"\u0000","b":["\udc00"],"n":1e131072}}`,
		`{"id":"c","triggers":[{"kind":"purchase","where":[{"property":"p\u0000","op":"eq","value":"\u0000"}]}],"end":"9999-12-31T23:59:59-23:59"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var c rule.Campaign
		if err := json.Unmarshal(data, &c); err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			for _, e := range unjoin(err) {
				var ve *rule.ValidationError
				if !errors.As(e, &ve) {
					t.Fatalf("untyped error %T: %v", e, e)
				}
			}
			return
		}
		out, err := json.Marshal(c)
		if err != nil {
			t.Fatalf("a valid campaign does not marshal: %v", err)
		}
		if err := event.CheckJSON(out); err != nil {
			t.Fatalf("a valid campaign's JSON is not one every store keeps: %v\n%s", err, out)
		}
		var back rule.Campaign
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("round trip of %s: %v", out, err)
		}
		again, err := json.Marshal(back)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("round trip changed the campaign:\n%s\n%s", out, again)
		}
		_ = c.Clone()
		_ = c.Delay.String()
	})
}

// FuzzStoredCampaign: the stored decoding never panics, and what the
// strict decoding accepts it decodes to the same campaign.
func FuzzStoredCampaign(f *testing.F) {
	for _, s := range []string{
		`{"id":"resend","triggers":[{"kind":"email_received","campaign_id":"n","later":1}],"delay":{"after":"168h"}}`,
		`{"id":"w","ID":"v","send_window":{"from":"22:00","to":"06:00","days":["friday"],"x":{}},"conversions":[{"id":"b","kind":"purchase","deadline":"72h"}]}`,
		`{"id":"x","delay":{"later":[1]}}`, `{"id":"x","message":{"a":[1,2]},"later":null}`, `null`, `[{"id":"x"}]`, `{"id":"x",}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := rule.DecodeStoredCampaign(data)
		var strict rule.Campaign
		if strict.UnmarshalJSON(data) != nil {
			return
		}
		if err != nil {
			t.Fatalf("the strict decoding reads %s, the stored one fails: %v", data, err)
		}
		if !reflect.DeepEqual(strict, got) {
			t.Fatalf("the decodings of %s differ:\n%#v\n%#v", data, strict, got)
		}
	})
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// FuzzConditionEval: conditions built from any operator and JSON operand
// validate or fail cleanly, and evaluate on any JSON properties without
// panicking; equal and not-equal never agree on a present property.
func FuzzConditionEval(f *testing.F) {
	f.Add("eq", []byte(`3`), []byte(`{"p":3.0}`))
	f.Add("gt", []byte(`1e308`), []byte(`{"p":18446744073709551615}`))
	f.Add("in", []byte(`[1,"a",null,true]`), []byte(`{"p":"a"}`))
	f.Add("prefix", []byte(`"ab"`), []byte(`{"p":"abc"}`))
	f.Add("exists", []byte(`null`), []byte(`{}`))
	f.Add("lt", []byte(`-0.5`), []byte(`{"p":-9223372036854775808}`))
	f.Fuzz(func(t *testing.T, op string, operand, props []byte) {
		var value, properties any
		dec := json.NewDecoder(bytes.NewReader(operand))
		dec.UseNumber()
		if dec.Decode(&value) != nil {
			return
		}
		dec = json.NewDecoder(bytes.NewReader(props))
		dec.UseNumber()
		if dec.Decode(&properties) != nil {
			return
		}
		m, _ := properties.(map[string]any)
		c := rule.Condition{Property: "p", Op: rule.Operator(op), Value: value}
		err := c.Validate()
		if err != nil {
			var ve *rule.ValidationError
			if !errors.As(err, &ve) || !errors.Is(err, rule.ErrInvalidCondition) {
				t.Fatalf("untyped error %T: %v", err, err)
			}
		}
		got := c.Eval(m)
		_ = c.String()
		if err == nil && (c.Op == rule.OpEqual || c.Op == rule.OpNotEqual) {
			other := c
			other.Op = map[rule.Operator]rule.Operator{rule.OpEqual: rule.OpNotEqual, rule.OpNotEqual: rule.OpEqual}[c.Op]
			if _, present := m["p"]; present && got == other.Eval(m) {
				t.Fatalf("eq and ne agree (%v) on %s with %s", got, operand, props)
			}
		}
		ev := event.Event{UserID: "u", Kind: event.Purchase, Properties: m}
		_ = rule.Trigger{Kind: event.Purchase, Where: []rule.Condition{c}}.Matches(&ev)
	})
}
