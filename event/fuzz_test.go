package event_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/campaignconnector/campaignconnector/event"
)

// FuzzEventJSON: any input decodes or fails cleanly; a decoded event
// validates or fails with ValidationErrors; a valid event marshals to JSON
// every store keeps and round-trips to the same event.
func FuzzEventJSON(f *testing.F) {
	for _, s := range []string{
		`{"id":"sg-1","user_id":"u","kind":"email_opened","campaign_id":"n","time":"2026-03-01T12:00:00Z"}`,
		`{"user_id":"u","kind":"purchase","name":"sku","properties":{"price":9.99,"tags":["a",{"b":null}],"big":1e400}}`,
		`{"user_id":"u","kind":"custom_event","name":"x","properties":{"n":12345678901234567890}}`,
		`{"user_id":"u\u0000","kind":"session_start","properties":{"k\u0000":"v\u0000","n":1e131072}}`,
		`{"user_id":"u","kind":"session_start","properties":{"s":"\ud800","n":1e-16384},"time":"9999-12-31T23:59:59+14:00"}`,
		`{"user_id":"","kind":"email_teleported"}`, `[]`, `{"kind":5}`, `{"time":"yesterday"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var ev event.Event
		if err := json.Unmarshal(data, &ev); err != nil {
			return
		}
		checkValidRoundTrips(t, ev)
	})
}

// FuzzEventValidate builds events from raw bytes, which JSON decoding
// never yields (invalid UTF-8, json.Number strings of any syntax, floats
// of any value, times of any year and zone), and checks that whatever
// Validate accepts marshals to JSON every store keeps and round-trips.
func FuzzEventValidate(f *testing.F) {
	f.Add("u", "ev", "c", "k", "v", "12.5", 1.5, int64(1767603600), 0)
	f.Add("u\x00", "ev", "c", "k", "v", "1", 0.0, int64(0), 0)
	f.Add("u", "ev\xff", "c", "k", "v", "1", 0.0, int64(0), 0)
	f.Add("u", "ev", "c", "k\x00", "v", "1", 0.0, int64(0), 0)
	f.Add("u", "ev", "c", "k", "v\xc3", "1", 0.0, int64(0), 0)
	f.Add("u", "ev", "c", "k", "v", "NaN", 0.0, int64(0), 0)
	f.Add("u", "ev", "c", "k", "v", "0x10", math.Inf(1), int64(0), 0)
	f.Add("u", "ev", "c", "k", "v", "1e131072", 0.0, int64(0), 0)
	f.Add("u", "ev", "c", "k", "v", "1", 0.0, int64(253402300800), 0)
	f.Add("u", "ev", "c", "k", "v", "1", 0.0, int64(1767603600), 3630)
	f.Add("u", "ev", "c", "k", "v", "1", 0.0, int64(1767603600), 86400)
	f.Fuzz(func(t *testing.T, user, id, campaign, key, text, number string, float float64, unix int64, offset int) {
		ev := event.Event{ID: id, UserID: user, Kind: event.EmailAliasClicked, CampaignID: campaign, Target: text,
			Properties: map[string]any{key: text, "n": json.Number(number), "list": []any{float, map[string]any{key: number}}}}
		if unix != 0 {
			ev.Time = time.Unix(unix, int64(offset)).In(time.FixedZone("z", offset%(30*3600)))
		}
		checkValidRoundTrips(t, ev)
	})
}

// checkValidRoundTrips: ev validates (within the default limits) or fails
// with ValidationErrors only; when it validates, its JSON form is valid
// UTF-8 without \u0000 (which jsonb refuses) and decodes to ev again.
func checkValidRoundTrips(t *testing.T, ev event.Event) {
	t.Helper()
	err := ev.Validate()
	if err == nil {
		err = event.DefaultLimits.Check(ev)
	}
	if err != nil {
		for _, e := range unjoin(err) {
			var ve *event.ValidationError
			if !errors.As(e, &ve) {
				t.Fatalf("untyped error %T: %v", e, e)
			}
		}
		return
	}
	out, err := json.Marshal(ev)
	if err != nil {
		t.Fatalf("a valid event does not marshal: %v", err)
	}
	if !utf8.Valid(out) || bytes.Contains(out, []byte(`\u0000`)) {
		t.Fatalf("a valid event's JSON holds what stores refuse: %q", out)
	}
	var back event.Event
	if err := json.Unmarshal(out, &back); err != nil {
		t.Fatalf("round trip: %v", err)
	}
	again, err := json.Marshal(back)
	if err != nil || string(again) != string(out) {
		t.Fatalf("round trip changed the JSON:\n%s\n%s", out, again)
	}
	if !back.Time.Equal(ev.Time) {
		t.Fatalf("round trip changed the time: %v, then %v", ev.Time, back.Time)
	}
	want, got := ev, back
	want.Time, got.Time = time.Time{}, time.Time{}
	want.Properties, got.Properties = normalize(ev.Properties), normalize(back.Properties)
	if !reflect.DeepEqual(want, got) {
		t.Fatalf("round trip changed the event:\n%#v\n%#v", want, got)
	}
}

// normalize writes every number as the json.Number JSON decoding gives,
// so that a property set as float64(1.5) compares equal to its decoded
// json.Number("1.5").
func normalize(m map[string]any) map[string]any {
	if len(m) == 0 { // the top level is omitted from JSON when empty
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = normalizeValue(v)
	}
	return out
}

func normalizeValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		return normalize(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalizeValue(e)
		}
		return out
	case json.Number, string, bool, nil:
		return v
	}
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	return json.Number(b)
}
