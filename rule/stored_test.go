package rule_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/stretchr/testify/require"
)

// everyPart returns a campaign with every part that is a JSON object or
// an array of them in its stored form.
func everyPart() rule.Campaign {
	c := storableCampaign()
	c.Exceptions[0].Where = []rule.Condition{rule.Equal("plan", "pro")}
	c.Conversions[0].Where = []rule.Condition{rule.OneOf("sku", "a", "b")}
	c.Conversions[0].Deadline = 48 * time.Hour
	c.Reeligibility = rule.ReeligibleAfter(30 * 24 * time.Hour)
	c.SendWindow = &rule.SendWindow{From: rule.At(9, 0), To: rule.At(17, 0), Days: []time.Weekday{time.Monday}}
	return c
}

// objectPaths returns the paths (keys and indexes from the root) of every
// JSON object in v, a value decoded into any, but those in the campaign's
// message, which is the host's and kept whole.
func objectPaths(v any, path []any) [][]any {
	var out [][]any
	switch v := v.(type) {
	case map[string]any:
		out = append(out, path)
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if len(path) == 0 && k == "message" {
				continue
			}
			out = append(out, objectPaths(v[k], append(path[:len(path):len(path)], k))...)
		}
	case []any:
		for i, e := range v {
			out = append(out, objectPaths(e, append(path[:len(path):len(path)], i))...)
		}
	}
	return out
}

// withNewerField returns the JSON document doc with a field this version
// does not know added to the object at path.
func withNewerField(t *testing.T, doc []byte, path []any) []byte {
	t.Helper()
	var root any
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	require.NoError(t, dec.Decode(&root))
	v := root
	for _, step := range path {
		switch s := step.(type) {
		case string:
			v = v.(map[string]any)[s]
		case int:
			v = v.([]any)[s]
		}
	}
	v.(map[string]any)["added_later"] = map[string]any{"level": json.Number("3"), "tags": []any{"a"}}
	var message struct{ Message json.RawMessage }
	require.NoError(t, json.Unmarshal(doc, &message))
	root.(map[string]any)["message"] = message.Message // its bytes as they were
	out, err := json.Marshal(root)
	require.NoError(t, err)
	return out
}

// A definition a newer version stored, with a field this version does not
// know at any depth, decodes to what this version knows of it; the strict
// decoding of host files rejects every one of them.
func TestStoredCampaignIgnoresFieldsOfANewerVersion(t *testing.T) {
	doc, err := json.Marshal(everyPart())
	require.NoError(t, err)
	want, err := rule.DecodeStoredCampaign(doc)
	require.NoError(t, err)
	var strict rule.Campaign
	require.NoError(t, json.Unmarshal(doc, &strict))
	require.Equal(t, strict, want, "a definition of this version decodes as the strict decoding does")

	var tree any
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	require.NoError(t, dec.Decode(&tree))
	paths := objectPaths(tree, nil)
	require.Len(t, paths, 10, "the campaign, a trigger, an exception, a conversion, a condition in each, "+
		"the delay, the re-eligibility and the send window")
	for _, path := range paths {
		t.Run(fmt.Sprint("a field added at ", path), func(t *testing.T) {
			newer := withNewerField(t, doc, path)
			var c rule.Campaign
			require.ErrorContains(t, json.Unmarshal(newer, &c), `unknown field "added_later"`,
				"the strict decoding checks this object's fields")
			got, err := rule.DecodeStoredCampaign(newer)
			require.NoError(t, err, "%s", newer)
			require.Equal(t, want, got)
		})
	}
}

// What the stored decoding does not ignore fails as the strict decoding
// does; a part whose fields are all unknown fails rather than decode to
// its zero value (an empty delay sends at once).
func TestStoredCampaignRejectsWhatItCannotRead(t *testing.T) {
	cases := []struct {
		name, json, want string
	}{
		{"an event kind this version does not know",
			`{"id":"f","triggers":[{"kind":"whatsapp_read","campaign_id":"n"}],"added_later":1}`, "whatsapp_read"},
		{"a malformed delay", `{"id":"f","delay":{"after":"7d"},"added_later":1}`, `unknown unit "d"`},
		{"a delay of a kind this version does not have",
			`{"id":"f","triggers":[{"kind":"email_received","campaign_id":"n"}],"delay":{"business_days":2}}`,
			`rule: campaign: delay: no field this version knows (business_days)`},
		{"a trigger of a form this version does not have",
			`{"id":"f","triggers":[{"kind":"email_received","campaign_id":"n"},{"kinds":["purchase"]}]}`,
			`rule: campaign: triggers[1]: no field this version knows (kinds)`},
		{"a re-eligibility of a kind this version does not have",
			`{"id":"f","reeligibility":{"every":"month","from":"01"}}`,
			`rule: campaign: reeligibility: no field this version knows (every, from)`},
		{"malformed JSON", `{"id":"f","added_later":[}`, "malformed JSON"},
		{"JSON cut short", `{"id":"f","added_later":1`, "rule: campaign: malformed JSON at byte 25: unexpected end of JSON input"},
		{"JSON cut short in a part", `{"id":"f","delay":{"after":"1h"}`, "rule: campaign: malformed JSON at byte 32: unexpected end of JSON input"},
		{"more data after the definition", `{"id":"f"} x`, "rule: campaign: malformed JSON at byte 12: invalid character 'x' after top-level value"},
		{"two definitions", `{"id":"f"} {"id":"g"}`, "rule: campaign: malformed JSON at byte 12: invalid character '{' after top-level value"},
		{"not an object", `["f"]`, "campaign: want an object"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := rule.DecodeStoredCampaign([]byte(tc.json))
			require.ErrorContains(t, err, tc.want)
		})
	}
}

// Keys the strict decoding takes in another case are kept, not taken for
// a newer version's fields; keys stay in their order, so a repeated key is
// refused as the strict decoding refuses it.
func TestStoredCampaignDecodesKeysAsTheStrictDecodingDoes(t *testing.T) {
	for doc, want := range map[string]string{
		`{"id":"x","audience":"all","id":"f","audience":"vip"}`:                 `rule: campaign: duplicate key "id"`,
		`{"id":"x","added_later":1,"ID":"f"}`:                                   `rule: campaign: duplicate key "ID" (the same field as "id")`,
		`{"id":"f","send_window":{"from":"09:00","to":"17:00","FROM":"10:00"}}`: `rule: campaign: send_window: duplicate key "FROM" (the same field as "from")`,
	} {
		_, err := rule.DecodeStoredCampaign([]byte(doc))
		require.EqualError(t, err, want, doc)
		var dk *rule.DuplicateKeyError
		require.ErrorAs(t, err, &dk, doc)
	}
	for _, doc := range []string{
		`{"ID":"f","Audience":"vip","added_later":true}`,
		`{"id":"f","audience":"vip","Send_Window":{"FROM":"09:00","to":"17:00","days":["mon"]}}`,
	} {
		got, err := rule.DecodeStoredCampaign([]byte(doc))
		require.NoError(t, err, doc)
		require.Equal(t, "f", got.ID, doc)
		require.Equal(t, "vip", got.Audience, doc)
		if strings.Contains(doc, "FROM") {
			require.Equal(t, rule.At(9, 0), got.SendWindow.From)
		}
	}
}

// The message is the host's: its bytes are kept, whatever its fields.
func TestStoredCampaignKeepsTheMessageWhole(t *testing.T) {
	got, err := rule.DecodeStoredCampaign([]byte(`{"id":"f","message":{"added_later":1, "subject":"<hi>"}}`))
	require.NoError(t, err)
	require.Equal(t, `{"added_later":1, "subject":"<hi>"}`, string(got.Message), "the message's bytes are kept")
}

// A part stored with no field this version knows fails with a
// *ValidationError naming the part, as its own decoding's errors do: a
// delay's wraps ErrInvalidDelay, a condition's ErrInvalidCondition; a
// trigger's is the campaign's, as when the campaign decodes it.
func TestStoredPartWithNoKnownFieldIsAValidationError(t *testing.T) {
	for _, tc := range []struct {
		json, object, field string
		sentinel            error
	}{
		{`{"later":1}`, "campaign", "", nil},
		{`{"id":"f","delay":{"business_days":2}}`, "delay", "", rule.ErrInvalidDelay},
		{`{"id":"f","Delay":{"business_days":2}}`, "delay", "", rule.ErrInvalidDelay},
		{`{"id":"f","reeligibility":{"every":"month"}}`, "reeligibility", "", nil},
		{`{"id":"f","send_window":{"between":"9-5"}}`, "send_window", "", nil},
		{`{"id":"f","conversions":[{"id":"b","kind":"purchase"},{"goal":"x"}]}`, "conversion", "", nil},
		{`{"id":"f","triggers":[{"kinds":["purchase"]}]}`, "campaign", "triggers[0]", nil},
		{`{"id":"f","exceptions":[{"kinds":["purchase"]}]}`, "campaign", "exceptions[0]", nil},
		{`{"id":"f","triggers":[{"kind":"purchase","where":[{"property":"a","op":"exists"},{"any":[]}]}]}`, "condition", "", rule.ErrInvalidCondition},
		{`{"id":"f","conversions":[{"id":"b","kind":"purchase","where":[{"any":[]}]}]}`, "condition", "", rule.ErrInvalidCondition},
	} {
		_, err := rule.DecodeStoredCampaign([]byte(tc.json))
		require.ErrorContains(t, err, "no field this version knows", tc.json)
		var ve *rule.ValidationError
		require.ErrorAs(t, err, &ve, tc.json)
		require.Equal(t, tc.object, ve.Object, tc.json)
		require.Equal(t, tc.field, ve.Field, tc.json)
		require.True(t, strings.HasSuffix(err.Error(), ve.Reason), "%s: %v", tc.json, err)
		for _, s := range []error{rule.ErrInvalidDelay, rule.ErrInvalidCondition} {
			require.Equal(t, s == tc.sentinel, errors.Is(err, s), "%s: %v", tc.json, s)
		}
	}
}
