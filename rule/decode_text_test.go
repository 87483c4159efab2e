package rule_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/stretchr/testify/require"
)

// Text encoding/json would read as U+FFFD (bytes that are not UTF-8, an
// unpaired surrogate escape) is a decoding error naming its field, which
// wraps event.ErrUnstorable: decoded, an ID would pass Validate as another
// ID than the one written. A message keeps its bytes as written, for
// Validate to judge.
func TestCampaignTextThatWouldReadAsReplacementIsRefused(t *testing.T) {
	for _, tc := range []struct{ doc, path, field string }{
		{`{"id":"a` + "\xff" + `"}`, "campaign: id: text that is not valid UTF-8", "id"},
		{`{"id":"a\ud800"}`, "campaign: id: text that holds an unpaired surrogate escape", "id"},
		{`{"id":"a\udc00\ud800"}`, "campaign: id: text that holds an unpaired surrogate escape", "id"},
		{`{"id":"ok","audience":"b\udc00"}`, "campaign: audience: ", "audience"},
		{`{"id":"f","triggers":[{"kind":"push_opened","campaign_id":"x` + "\xff" + `"}]}`, "campaign: triggers[0].campaign_id: ", ""},
		{`{"id":"f","triggers":[{"kind":"custom_event","name":"e","where":[{"property":"p","op":"eq","value":"\ud800"}]}]}`,
			"campaign: triggers[0].where[0].value: ", ""},
		{`{"id":"f","triggers":[{"kind":"custom_event","name":"e","where":[{"property":"p","op":"in","value":["a","\ud800"]}]}]}`,
			"campaign: triggers[0].where[0].value: string at byte 5 holds an unpaired surrogate escape", ""},
		{`{"id":"f","exceptions":[{"kind":"purchase","campaign_id":"\udfff"}]}`, "campaign: exceptions[0].campaign_id: ", ""},
		{`{"id":"f","triggers":[{"kind":"purchase"},{"kind":"purchase","where":[{"property":"p","op":"eq","value":1},{"property":"q","op":"eq","value":"\ud800"}]}]}`,
			"campaign: triggers[1].where[1].value: ", ""},
	} {
		var c rule.Campaign
		err := json.Unmarshal([]byte(tc.doc), &c)
		require.ErrorContains(t, err, "rule: "+tc.path, "%q", tc.doc)
		require.ErrorContains(t, err, "which encoding/json reads as U+FFFD", "%q", tc.doc)
		require.ErrorIs(t, err, event.ErrUnstorable, "%q", tc.doc)
		var ve *rule.ValidationError
		require.True(t, errors.As(err, &ve), "%q: %v", tc.doc, err)
		if tc.field != "" {
			require.Equal(t, tc.field, ve.Field, "%q", tc.doc)
		}
		require.Empty(t, c.ID, "%q: nothing decoded", tc.doc)
	}
	for _, doc := range []string{
		`{"id":"caf\u00e9 \ud83d\ude00 ` + "caf\xc3\xa9" + `"}`, // a pair of surrogates, UTF-8
		`{"id":"f","message":{"a":"\udc00"}}`,                   // a message's bytes are Validate's
	} {
		var c rule.Campaign
		require.NoError(t, json.Unmarshal([]byte(doc), &c), "%q", doc)
	}
	var c rule.Campaign
	require.NoError(t, json.Unmarshal([]byte(`{"id":"f","message":{"a":"\udc00"}}`), &c))
	require.ErrorIs(t, c.Validate(), event.ErrUnstorable, "the message, as written, is refused by Validate")
	require.Equal(t, "café 😀 café", func() string {
		var c rule.Campaign
		_ = json.Unmarshal([]byte(`{"id":"caf\u00e9 \ud83d\ude00 `+"caf\xc3\xa9"+`"}`), &c)
		return c.ID
	}())
}

// Text that would read as U+FFFD inside a part that names itself is that
// part's decoding error, as any other is (see rule.ErrInvalidDelay,
// rule.ErrInvalidCondition): Object the part, Field its field, the part's
// sentinel wrapped, event.ErrUnstorable too.
func TestTextThatWouldReadAsReplacementIsThePartsError(t *testing.T) {
	for _, tc := range []struct {
		doc           string
		object, field string
		sentinel      error
	}{
		{`{"id":"f","delay":{"after":"\ud800"}}`, "delay", "after", rule.ErrInvalidDelay},
		{`{"id":"f","delay":{"weekday":"monday","at":"` + "\xff" + `"}}`, "delay", "at", rule.ErrInvalidDelay},
		{`{"id":"f","triggers":[{"kind":"purchase","where":[{"property":"p\ud800","op":"eq","value":1}]}]}`, "condition", "property", rule.ErrInvalidCondition},
		{`{"id":"f","exceptions":[{"kind":"purchase","where":[{"property":"p","op":"eq","value":"\udc00"}]}]}`, "condition", "value", rule.ErrInvalidCondition},
		{`{"id":"f","conversions":[{"id":"c","kind":"purchase","where":[{"property":"p","op":"in","value":["\udc00"]}]}]}`, "condition", "value", rule.ErrInvalidCondition},
		{`{"id":"f","conversions":[{"id":"c\udc00","kind":"purchase"}]}`, "conversion", "id", nil},
		{`{"id":"f","send_window":{"from":"\ud800","to":"09:00"}}`, "send_window", "from", nil},
		{`{"id":"f","send_window":{"from":"09:00","to":"` + "\xff" + `"}}`, "send_window", "to", nil},
		{`{"id":"f","reeligibility":{"after":"\ud800"}}`, "reeligibility", "after", nil},
		{`{"id":"f","triggers":[{"kind":"purchase","target":"\ud800"}]}`, "campaign", "triggers[0].target", nil},
	} {
		for _, decode := range []func([]byte) error{
			func(b []byte) error { var c rule.Campaign; return json.Unmarshal(b, &c) },
		} {
			err := decode([]byte(tc.doc))
			require.ErrorIs(t, err, event.ErrUnstorable, "%q", tc.doc)
			var ve *rule.ValidationError
			require.True(t, errors.As(err, &ve), "%q: %v", tc.doc, err)
			require.Equal(t, tc.object, ve.Object, "%q", tc.doc)
			require.Equal(t, tc.field, ve.Field, "%q", tc.doc)
			if tc.sentinel != nil {
				require.ErrorIs(t, err, tc.sentinel, "%q", tc.doc)
			}
		}
	}
	// Decoded alone, a delay's and a condition's errors wrap their sentinel.
	var d rule.Delay
	require.ErrorIs(t, json.Unmarshal([]byte(`{"after":"\ud800"}`), &d), rule.ErrInvalidDelay)
	var c rule.Condition
	err := json.Unmarshal([]byte(`{"property":"\ud800","op":"eq","value":1}`), &c)
	require.ErrorIs(t, err, rule.ErrInvalidCondition)
	require.ErrorIs(t, err, event.ErrUnstorable)
	var tr rule.Trigger
	err = json.Unmarshal([]byte(`{"kind":"purchase","where":[{"property":"p","op":"eq","value":"\ud800"}]}`), &tr)
	require.ErrorIs(t, err, rule.ErrInvalidCondition)
	var tod rule.TimeOfDay
	err = json.Unmarshal([]byte(`"\ud800"`), &tod)
	var ve *rule.ValidationError
	require.True(t, errors.As(err, &ve), "%v", err)
	require.Equal(t, "time_of_day", ve.Object)
	require.ErrorIs(t, err, event.ErrUnstorable)
}

// What a store kept loads as it did before decoding refused text that
// would read as U+FFFD: such text only reaches a store around Save (a
// condition whose Go value was a json.RawMessage, which Validate refuses),
// and one such definition must not keep the engine from loading every
// campaign. It reads as U+FFFD; a message keeps its bytes.
func TestStoredTextThatWouldReadAsReplacementStillLoads(t *testing.T) {
	for _, tc := range []struct{ doc, want string }{
		{`{"id":"f","triggers":[{"kind":"custom_event","name":"e","where":[{"property":"p","op":"eq","value":"\udc00"}]}]}`, "\ufffd"},
		{`{"id":"f","triggers":[{"kind":"custom_event","name":"e","where":[{"property":"p","op":"eq","value":{"a":"` + "\xff" + `"}}]}]}`, "map[a:\ufffd]"},
		{`{"id":"f","triggers":[{"kind":"custom_event","name":"e","where":[{"property":"p","op":"in","value":["ok","\ud800"]}]}]}`, "[ok \ufffd]"},
	} {
		var strict rule.Campaign
		require.ErrorIs(t, json.Unmarshal([]byte(tc.doc), &strict), event.ErrUnstorable, "%q", tc.doc)
		c, err := rule.DecodeStoredCampaign([]byte(tc.doc))
		require.NoError(t, err, "%q", tc.doc)
		require.Equal(t, tc.want, fmt.Sprint(c.Triggers[0].Where[0].Value), "%q", tc.doc)
	}
	c, err := rule.DecodeStoredCampaign([]byte(`{"id":"f","message":{"a":"\udc00"}}`))
	require.NoError(t, err)
	require.JSONEq(t, `{"a":"\udc00"}`, string(c.Message))
	require.Contains(t, string(c.Message), `\udc00`, "the message's bytes, as stored")
}

// A stored condition value written anew for its text reads as encoding/json
// reads the value as stored, which older releases loaded: numbers keep their
// literals (json.Number), keys given twice keep the last, in the trigger's
// conditions as in a conversion's.
func TestStoredTextThatWouldReadAsReplacementKeepsTheRest(t *testing.T) {
	for _, v := range []string{
		"{\"a\":\"\xff\",\"a\":2,\"b\":1.0,\"c\":1e400,\"d\":-0,\"e\":12345678901234567890,\"\xfe\":1,\"\\ufffd\":2}",
		`["\ud800\ud800","\udbff\udfff",1.50,"<&>\u2028"]`,
		`"\ud800\u0041"`,
	} {
		doc := `{"id":"f","triggers":[{"kind":"custom_event","name":"e","where":[{"property":"p","op":"eq","value":` + v +
			`}]}],"conversions":[{"id":"c","kind":"purchase","where":[{"property":"p","op":"eq","value":` + v + `}]}]}`
		dec := json.NewDecoder(strings.NewReader(v))
		dec.UseNumber()
		var want any
		require.NoError(t, dec.Decode(&want))
		c, err := rule.DecodeStoredCampaign([]byte(doc))
		require.NoError(t, err, "%q", v)
		require.Equal(t, want, c.Triggers[0].Where[0].Value, "%q", v)
		require.Equal(t, want, c.Conversions[0].Where[0].Value, "%q", v)
	}
}
