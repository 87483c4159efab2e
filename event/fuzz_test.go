package event_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/campaignconnector/campaignconnector/event"
)

// FuzzEventJSON: any input decodes or fails cleanly; a decoded event
// validates or fails with ValidationErrors; a valid event round-trips.
func FuzzEventJSON(f *testing.F) {
	for _, s := range []string{
		`{"id":"sg-1","user_id":"u","kind":"email_opened","campaign_id":"n","time":"2026-03-01T12:00:00Z"}`,
		`{"user_id":"u","kind":"purchase","name":"sku","properties":{"price":9.99,"tags":["a",{"b":null}],"big":1e400}}`,
		`{"user_id":"u","kind":"custom_event","name":"x","properties":{"n":12345678901234567890}}`,
		`{"user_id":"","kind":"email_teleported"}`, `[]`, `{"kind":5}`, `{"time":"yesterday"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var ev event.Event
		if err := json.Unmarshal(data, &ev); err != nil {
			return
		}
		err := ev.Validate()
		if err == nil {
			err = event.DefaultLimits.Check(ev)
		}
		if err != nil {
			var ve *event.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("untyped error %T: %v", err, err)
			}
			return
		}
		out, err := json.Marshal(ev)
		if err != nil {
			t.Fatalf("a valid event does not marshal: %v", err)
		}
		var back event.Event
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("round trip: %v", err)
		}
		again, err := json.Marshal(back)
		if err != nil || string(again) != string(out) {
			t.Fatalf("round trip changed the event:\n%s\n%s", out, again)
		}
	})
}
