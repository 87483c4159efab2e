package event_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
)

// BenchmarkValidate: the common event (no properties, decided without a
// report) and one with properties.
func BenchmarkValidate(b *testing.B) {
	plain := event.Event{ID: "sg-0123456789abcdef", UserID: "user-12345", Kind: event.EmailOpened,
		CampaignID: "newsletter-2026-03", Time: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	props := plain
	props.Properties = map[string]any{"url": "https://example.com/a/b?c=d", "price": json.Number("19.99"),
		"tags": []any{"a", "b", 3.5}, "plan": map[string]any{"name": "pro", "seats": 3}}
	for _, c := range []struct {
		name string
		ev   event.Event
	}{{"plain", plain}, {"properties", props}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := c.ev.Validate(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
