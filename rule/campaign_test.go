package rule_test

import (
	"encoding/json"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/stretchr/testify/require"
)

func TestConditionEval(t *testing.T) {
	props := map[string]any{
		"price": 42.5, "qty": int64(3), "big": uint64(math.MaxUint64), "n": json.Number("7"),
		"plan": "pro_yearly", "vip": true, "nothing": nil, "list": []any{1},
	}
	cases := []struct {
		c    rule.Condition
		want bool
	}{
		{rule.Equal("qty", 3), true},
		{rule.Equal("qty", 3.0), true},
		{rule.Equal("qty", json.Number("3")), true},
		{rule.Equal("qty", uint8(3)), true},
		{rule.Equal("qty", 3.5), false},
		{rule.Equal("qty", "3"), false},
		{rule.Equal("n", 7), true},
		{rule.Equal("plan", "pro_yearly"), true},
		{rule.Equal("vip", true), true},
		{rule.Equal("vip", 1), false},
		{rule.Equal("nothing", nil), true},
		{rule.Equal("list", 1), false},
		{rule.Equal("missing", nil), false},
		{rule.NotEqual("plan", "free"), true},
		{rule.NotEqual("plan", "pro_yearly"), false},
		{rule.NotEqual("missing", "x"), true},
		{rule.Greater("price", 42), true},
		{rule.Greater("price", 42.5), false},
		{rule.GreaterOrEqual("price", 42.5), true},
		{rule.Less("qty", 3.0000001), true},
		{rule.LessOrEqual("qty", 3), true},
		{rule.Less("qty", 3), false},
		{rule.Greater("big", int64(math.MaxInt64)), true},
		{rule.Equal("big", uint64(math.MaxUint64)), true},
		{rule.Less("big", 2e19), true},
		{rule.Greater("big", 1.8e19), true},
		{rule.Greater("plan", 1), false},
		{rule.Greater("missing", 1), false},
		{rule.OneOf("plan", "free", "pro_yearly"), true},
		{rule.OneOf("qty", 1, 2, 3.0), true},
		{rule.OneOf("qty", 1, 2), false},
		{rule.Present("nothing"), true},
		{rule.Present("missing"), false},
		{rule.HasPrefix("plan", "pro_"), true},
		{rule.HasPrefix("plan", "free"), false},
		{rule.HasSubstring("plan", "year"), true},
		{rule.HasSubstring("qty", "3"), false},
		{rule.Condition{Property: "qty", Op: "like", Value: 3}, false},
	}
	for _, tc := range cases {
		require.Equal(t, tc.want, tc.c.Eval(props), "%s", tc.c)
	}
	// Exact integer comparisons beyond float64 precision.
	p := map[string]any{"id": int64(1<<53 + 1)}
	require.False(t, rule.Equal("id", float64(1<<53)).Eval(p))
	require.True(t, rule.Greater("id", float64(1<<53)).Eval(p))
	require.True(t, rule.Less("id", -1.5).Eval(map[string]any{"id": int64(-2)}))
	require.True(t, rule.Greater("id", -2.5).Eval(map[string]any{"id": int64(-2)}))
}

func TestConditionValidate(t *testing.T) {
	good := []rule.Condition{
		rule.Equal("a", "x"), rule.Equal("a", nil), rule.Greater("a", 1), rule.OneOf("a", 1, "b"),
		rule.Present("a"), rule.HasPrefix("a", "p"), rule.Less("a", json.Number("1.5")),
	}
	for _, c := range good {
		require.NoError(t, c.Validate(), "%s", c)
	}
	bad := []struct {
		c     rule.Condition
		field string
	}{
		{rule.Condition{Op: rule.OpEqual, Value: 1}, "property"},
		{rule.Condition{Property: "a"}, "op"},
		{rule.Condition{Property: "a", Op: "like"}, "op"},
		{rule.Greater("a", "x"), "value"},
		{rule.Greater("a", math.Inf(1)), "value"},
		{rule.Equal("a", []any{1}), "value"},
		{rule.Condition{Property: "a", Op: rule.OpOneOf, Value: 1}, "value"},
		{rule.Condition{Property: "a", Op: rule.OpOneOf, Value: []any{}}, "value"},
		{rule.OneOf("a", map[string]any{}), "value[0]"},
		{rule.Condition{Property: "a", Op: rule.OpPresent, Value: 1}, "value"},
		{rule.HasPrefix("a", ""), "value"},
	}
	for _, tc := range bad {
		err := tc.c.Validate()
		var ve *rule.ValidationError
		require.ErrorAs(t, err, &ve, "%+v", tc.c)
		require.Equal(t, tc.field, ve.Field)
		require.ErrorIs(t, err, rule.ErrInvalidCondition)
	}
}

func TestTriggersAndExceptionsSelectEvents(t *testing.T) {
	click := event.Event{UserID: "u", Kind: event.InAppMessageButtonClicked, CampaignID: "onboarding", Target: "deep_link"}
	buy := event.Event{UserID: "u", Kind: event.Purchase, Name: "sku-1", Properties: map[string]any{"price": 80}}
	custom := event.Event{UserID: "u", Kind: event.CustomEvent, Name: "signed_up", Properties: map[string]any{"plan": "pro"}}
	cases := []struct {
		name string
		tr   rule.Trigger
		ev   event.Event
		want bool
	}{
		{"kind and campaign", rule.Trigger{Kind: event.InAppMessageButtonClicked, CampaignID: "onboarding"}, click, true},
		{"empty target matches any sub-selector", rule.Trigger{Kind: event.InAppMessageButtonClicked, CampaignID: "onboarding"}, click, true},
		{"target must match when set", rule.Trigger{Kind: event.InAppMessageButtonClicked, CampaignID: "onboarding", Target: "close"}, click, false},
		{"other campaign", rule.Trigger{Kind: event.InAppMessageButtonClicked, CampaignID: "promo"}, click, false},
		{"other kind", rule.Trigger{Kind: event.InAppMessageClicked, CampaignID: "onboarding"}, click, false},
		{"any purchase", rule.Trigger{Kind: event.Purchase}, buy, true},
		{"purchase of a product", rule.Trigger{Kind: event.Purchase, Name: "sku-1"}, buy, true},
		{"purchase of another product", rule.Trigger{Kind: event.Purchase, Name: "sku-2"}, buy, false},
		{"purchase with a property condition", rule.Trigger{Kind: event.Purchase, Where: []rule.Condition{rule.Greater("price", 50)}}, buy, true},
		{"purchase failing a condition", rule.Trigger{Kind: event.Purchase, Where: []rule.Condition{rule.Greater("price", 100)}}, buy, false},
		{"custom event by name and property", rule.Trigger{Kind: event.CustomEvent, Name: "signed_up", Where: []rule.Condition{rule.Equal("plan", "pro")}}, custom, true},
		{"custom event by another name", rule.Trigger{Kind: event.CustomEvent, Name: "logged_in"}, custom, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, tc.tr.Matches(&tc.ev))
			require.Equal(t, tc.want, rule.Exception(tc.tr).Matches(&tc.ev), "exceptions match like triggers")
		})
	}
}

func TestCampaignValidate(t *testing.T) {
	valid := rule.Campaign{
		ID:            "resend",
		Triggers:      []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "newsletter"}},
		Delay:         rule.After(7 * 24 * time.Hour),
		Exceptions:    []rule.Exception{{Kind: event.EmailOpened, CampaignID: "newsletter"}, {Kind: event.Purchase}},
		Reeligibility: rule.ReeligibleAfter(30 * 24 * time.Hour),
		Audience:      "subscribers",
		Message:       json.RawMessage(`{"subject":"hi"}`),
	}
	require.NoError(t, valid.Validate())
	require.NoError(t, rule.Campaign{ID: "original"}.Validate())

	c := valid
	c.Triggers = []rule.Trigger{{Kind: event.EmailOpened}, {Kind: event.EmailOpened, CampaignID: "resend"}}
	c.Delay = rule.Immediately()
	c.Reeligibility = rule.ReeligibleAfter(-1)
	c.Start = time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	c.End = c.Start.Add(-time.Hour)
	c.Message = json.RawMessage(`{"subject":`)
	err := c.Validate()
	fields := map[string]error{}
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var ve *rule.ValidationError
		require.ErrorAs(t, e, &ve)
		require.Equal(t, "campaign", ve.Object)
		fields[ve.Field] = e
	}
	for _, f := range []string{"triggers[0].campaign_id", "triggers[1].campaign_id", "exceptions", "reeligibility.after", "end", "message"} {
		require.Contains(t, fields, f, "all problems are reported: %v", err)
	}
	require.ErrorIs(t, fields["triggers[1].campaign_id"], rule.ErrSelfTrigger)
	require.ErrorIs(t, fields["exceptions"], rule.ErrExceptionWithoutDelay)
	require.True(t, errors.Is(err, rule.ErrSelfTrigger))

	require.Error(t, rule.Campaign{ID: string(make([]byte, 300))}.Validate())
	require.Error(t, rule.Campaign{ID: "x", Exceptions: []rule.Exception{{Kind: event.Purchase}}, Delay: rule.After(time.Hour)}.Validate(),
		"exceptions without triggers")
}

func TestCampaignJSONRoundTrip(t *testing.T) {
	c := rule.Campaign{
		ID: "cart_reminder",
		Triggers: []rule.Trigger{{Kind: event.PushReceived, CampaignID: "abandoned_cart"},
			{Kind: event.Purchase, Name: "sku", Where: []rule.Condition{rule.Greater("price", json.Number("49.99")), rule.OneOf("currency", "EUR", "USD")}}},
		Delay:         rule.NextWeekdayAt(time.Monday, 9, 30),
		Exceptions:    []rule.Exception{{Kind: event.Purchase}, {Kind: event.PushOpened, CampaignID: "abandoned_cart"}},
		Reeligibility: rule.ReeligibleAfter(72 * time.Hour),
		Start:         time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		End:           time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
		Audience:      "cart_owners",
		Message:       json.RawMessage(`{"title":"Still thinking?"}`),
	}
	b, err := json.Marshal(c)
	require.NoError(t, err)
	require.JSONEq(t, `{
		"id":"cart_reminder",
		"triggers":[{"kind":"push_received","campaign_id":"abandoned_cart"},
			{"kind":"purchase","name":"sku","where":[{"property":"price","op":"gt","value":49.99},{"property":"currency","op":"in","value":["EUR","USD"]}]}],
		"delay":{"weekday":"monday","at":"09:30"},
		"exceptions":[{"kind":"purchase"},{"kind":"push_opened","campaign_id":"abandoned_cart"}],
		"reeligibility":{"after":"72h0m0s"},
		"start":"2026-01-01T00:00:00Z","end":"2027-01-01T00:00:00Z",
		"audience":"cart_owners","message":{"title":"Still thinking?"}}`, string(b))
	var back rule.Campaign
	require.NoError(t, json.Unmarshal(b, &back))
	require.Equal(t, c, back, "round-trips exactly")
	b2, err := json.Marshal(back)
	require.NoError(t, err)
	require.Equal(t, string(b), string(b2))

	// The zero delay and once-only re-eligibility are omitted.
	b, err = json.Marshal(rule.Campaign{ID: "o"})
	require.NoError(t, err)
	require.JSONEq(t, `{"id":"o"}`, string(b))
}

func TestCampaignJSONIsStrict(t *testing.T) {
	var c rule.Campaign
	err := json.Unmarshal([]byte(`{"id":"x","triggers":[{"kind":"email_openned","campaign_id":"n"}]}`), &c)
	require.ErrorIs(t, err, event.ErrUnknownKind)
	require.Error(t, json.Unmarshal([]byte(`{"id":"x","dealy":{"after":"1h"}}`), &c), "misspelt field")
	require.Error(t, json.Unmarshal([]byte(`{"id":"x","triggers":[{"kind":"purchase","nmae":"sku"}]}`), &c), "misspelt nested field")
	require.Error(t, json.Unmarshal([]byte(`{"id":"x"} {"id":"y"}`), &c), "trailing data")
}

// An unknown kind or channel in a campaign's JSON names the field it is
// in, so that a campaign with several triggers, exceptions and conversions
// says which.
func TestCampaignJSONNamesTheFieldOfAnUnknownKind(t *testing.T) {
	for _, tc := range []struct {
		json, want string
		is         error
	}{
		{`{"id":"x","triggers":[{"kind":"email_received","campaign_id":"n"},{"kind":"email_recieved","campaign_id":"n"}]}`,
			`rule: campaign: triggers[1].kind: unknown event kind "email_recieved" (did you mean "email_received"?)`, event.ErrUnknownKind},
		{`{"id":"x","triggers":[{"kind":"purchase"}],"delay":{"after":"1h"},"exceptions":[{"kind":"email_openned","campaign_id":"n"}]}`,
			`rule: campaign: exceptions[0].kind: unknown event kind "email_openned"`, event.ErrUnknownKind},
		{`{"id":"x","channel":"mail"}`, `rule: campaign: channel: unknown channel "mail"`, event.ErrUnknownChannel},
		{`{"id":"x","conversions":[{"id":"a","kind":"purchase"},{"id":"b","kind":"purchse"}]}`,
			`rule: campaign: conversions[1].kind: unknown event kind "purchse"`, event.ErrUnknownKind},
		// With several unknown values, the one named is the one the error
		// is about: the first in the document, its text and kind with it.
		{`{"id":"x","exceptions":[{"kind":"email_openned","campaign_id":"n"}],"triggers":[{"kind":"purchse"}]}`,
			`rule: campaign: exceptions[0].kind: unknown event kind "email_openned"`, event.ErrUnknownKind},
		{`{"id":"x","channel":"mail","triggers":[{"kind":"purchse"}]}`,
			`rule: campaign: channel: unknown channel "mail"`, event.ErrUnknownChannel},
		{`{"id":"x","triggers":[{"kind":"purchase"},{"kind":"purchse"}],"channel":"mail"}`,
			`rule: campaign: triggers[1].kind: unknown event kind "purchse"`, event.ErrUnknownKind},
		{`{"id":"x","Triggers":[{"kind":"purchse"}]}`, `rule: campaign: triggers[0].kind: unknown event kind "purchse"`, event.ErrUnknownKind},
		// encoding/json folds "ſ" (long s) to "s" and "K" (Kelvin sign) to
		// "k": the error names the field by its own name, not the key's
		// spelling.
		{`{"id":"x","triggerſ":[{"kind":"purchse"}]}`, `rule: campaign: triggers[0].kind: unknown event kind "purchse"`, event.ErrUnknownKind},
		{`{"id":"x","exceptionſ":[{"kind":"purchse","campaign_id":"n"}]}`, `rule: campaign: exceptions[0].kind: unknown event kind "purchse"`, event.ErrUnknownKind},
		// A key twice in an item: the decoder fails on the first value,
		// and so does the name; an item of another shape is passed over.
		{`{"id":"x","triggers":[{"kind":"purchse","kind":"purchase"}],"exceptions":[{"kind":"purchse","campaign_id":"n"}]}`,
			`rule: campaign: triggers[0].kind: unknown event kind "purchse"`, event.ErrUnknownKind},
		{`{"id":"x","triggers":[1,{"kind":"purchse"}]}`, `rule: campaign: triggers[1].kind: unknown event kind "purchse"`, event.ErrUnknownKind},
	} {
		var c rule.Campaign
		err := json.Unmarshal([]byte(tc.json), &c)
		require.ErrorIs(t, err, tc.is)
		require.ErrorContains(t, err, tc.want)
	}
}

func TestCampaignClone(t *testing.T) {
	c := rule.Campaign{ID: "c", Triggers: []rule.Trigger{{Kind: event.Purchase, Where: []rule.Condition{rule.OneOf("a", 1, 2)}}},
		Message: json.RawMessage(`{}`)}
	d := c.Clone()
	d.Triggers[0].Where[0].Value.([]any)[0] = 99
	d.Message[0] = '['
	d.Triggers[0].Name = "x"
	require.Equal(t, 1, c.Triggers[0].Where[0].Value.([]any)[0])
	require.Equal(t, `{}`, string(c.Message))
	require.Empty(t, c.Triggers[0].Name)
}

func TestDecisionString(t *testing.T) {
	d := rule.Decision{Kind: rule.Cancelled, Reason: rule.ReasonException, CampaignID: "resend", UserID: "b",
		EventID: "e2", Rule: `email_opened of "newsletter"`, DueAt: time.Date(2026, 1, 12, 0, 0, 0, 0, time.UTC),
		At: time.Date(2026, 1, 7, 0, 0, 0, 0, time.UTC)}
	require.Equal(t, `2026-01-07T00:00:00Z cancelled resend user=b event=e2 due=2026-01-12T00:00:00Z (exception: email_opened of "newsletter")`, d.String())
}

// TestDecisionStringStaysOneLine: IDs an event brought (a user ID, an
// event ID, an unknown campaign's ID) and details quoting them cannot
// end the line or pass for other fields.
func TestDecisionStringStaysOneLine(t *testing.T) {
	at := time.Date(2026, 1, 7, 0, 0, 0, 0, time.UTC)
	d := rule.Decision{Kind: rule.Ignored, Reason: rule.ReasonUnknownCampaign, CampaignID: "news\u202eletter",
		UserID: "mallory\n2026-01-06T09:00:00Z delivered resend user=bob", EventID: "e 1",
		Detail: "campaign \"x\ny\" is not known", At: at}
	require.Equal(t, `2026-01-07T00:00:00Z ignored "news\u202eletter" user="mallory\n2026-01-06T09:00:00Z delivered resend user=bob" `+
		`event="e 1" (unknown_campaign: campaign "x\ny" is not known)`, d.String())
	require.NotContains(t, d.String(), "\n")
}

// A misspelt kind in a campaign written in Go names the kind meant, as the
// same campaign in JSON does.
func TestValidateSuggestsTheKindMeant(t *testing.T) {
	c := rule.Campaign{
		ID:          "x",
		Triggers:    []rule.Trigger{{Kind: "email_recieved", CampaignID: "n"}},
		Delay:       rule.After(time.Hour),
		Exceptions:  []rule.Exception{{Kind: "purchse"}},
		Conversions: []rule.Conversion{{ID: "c", Kind: "push_openned", CampaignID: "n"}},
	}
	err := c.Validate()
	require.ErrorIs(t, err, event.ErrUnknownKind)
	require.ErrorContains(t, err, `triggers[0].kind: unknown kind "email_recieved" (did you mean "email_received"?)`)
	require.ErrorContains(t, err, `exceptions[0].kind: unknown kind "purchse" (did you mean "purchase"?)`)
	require.ErrorContains(t, err, `conversions[0].kind: unknown kind "push_openned" (did you mean "push_opened"?)`)
}
