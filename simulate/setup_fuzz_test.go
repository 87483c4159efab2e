package simulate_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/campaignconnector/campaignconnector/simulate"
)

// FuzzReadSetup feeds ReadSetup any file, as a user editing a setup by
// hand might leave it. It returns a setup with a start, or an error
// wrapping ErrScript, never panics; a LineError it wraps names a line and
// column inside the file. A setup whose campaigns all validate, written
// back as JSON, reads as the same setup.
func FuzzReadSetup(f *testing.F) {
	for _, s := range []string{
		`{"start": "2026-01-05T09:00:00Z", "location": "Europe/Paris",` + "\r\n" +
			` "campaigns": [{"id": "newsletter"}, {"id":"resend","triggers":[{"kind":"email_received","campaign_id":"newsletter"}],"delay":{"after":"168h"}}],` + "\n" +
			` "publish": ["resend", "newsletter"]}`,
		"\ufeff{\"start\":\"2026-01-05T09:00:00+01:00\",\"campaigns\":[]}",
		`{"start": "2026-01-05T09:00:00Z", "campaigns": [{"id": "x", "tirggers": []}]}`,
		"{\n \"campaigns\": 5}", `{"start":"2026-01-05T09:00:00Z","campaigns":[]} {}`,
		`{"start":"yesterday"}`, `{"campaigns":[]}`, `null`, "\xfe\xff\x00{", `{"start":"2026-01-05T09:00:00Z","extra":1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		setup, err := simulate.ReadSetup(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, simulate.ErrScript) {
				t.Fatalf("error %v does not wrap ErrScript", err)
			}
			var le *simulate.LineError
			if errors.As(err, &le) && (le.Line < 1 || le.Line > bytes.Count(data, []byte{'\n'})+1 || le.Column < 1) {
				t.Fatalf("error %v names line %d, column %d of a file of %d newlines", err, le.Line, le.Column, bytes.Count(data, []byte{'\n'}))
			}
			return
		}
		if setup.Start.IsZero() {
			t.Fatal("a setup without a start is read")
		}
		for _, c := range setup.Campaigns {
			if c.Validate() != nil {
				return // Replay refuses it; its JSON form need not exist
			}
		}
		out, err := json.Marshal(setup)
		if err != nil {
			t.Fatalf("a setup of valid campaigns has no JSON form: %v", err)
		}
		back, err := simulate.ReadSetup(bytes.NewReader(out))
		if err != nil {
			t.Fatalf("a setup read, written back, does not read: %v\n%s", err, out)
		}
		again, err := json.Marshal(back)
		if err != nil || !bytes.Equal(again, out) || !back.Start.Equal(setup.Start) {
			t.Fatalf("a setup read back changed:\n%s\n%s", out, again)
		}
	})
}
