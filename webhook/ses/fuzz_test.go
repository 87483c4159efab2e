package ses

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/webhook"
)

// noAWS answers every request with 404: no certificate can be fetched.
type noAWS struct{}

func (noAWS) RoundTrip(req *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: 404, Status: "404 Not Found", Body: io.NopCloser(bytes.NewReader(nil)), Request: req}, nil
}

// FuzzParseSES fuzzes both halves of Parse without paying for an RSA
// signature per input (the signed path is covered by the table tests): the
// SNS envelope decoding and checks, with the input as the whole body, and
// the SES event decoding, with the input as the SNS Message.
func FuzzParseSES(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.*"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"Type":"Notification","MessageId":"m","Message":"{}","SignatureVersion":"1","Signature":"AAAA","SigningCertURL":"https://sns.us-east-1.amazonaws.com/x.pem"}`))
	f.Add([]byte(`{"eventType":"Click","mail":{"timestamp":"x","tags":{"campaign_id":["c"],"user_id":["u"]}},"click":null}`))
	p, err := New(WithHTTPClient(&http.Client{Transport: noAWS{}}))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		events, err := p.Parse(httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(in)), in)
		if events != nil || err == nil {
			t.Fatalf("an unsigned body was accepted: %v, %v", events, err)
		}
		if !errors.Is(err, webhook.ErrPayload) && !errors.Is(err, webhook.ErrSignature) {
			t.Fatalf("untyped error: %v", err)
		}

		events, err = p.events("sns-id", in)
		if err != nil {
			if events != nil {
				t.Fatalf("events with an error: %v", events)
			}
			if !errors.Is(err, webhook.ErrMissingID) && !errors.Is(err, webhook.ErrBadItem) {
				t.Fatalf("untyped item error: %v", err)
			}
		}
		if len(events) > 2 {
			t.Fatalf("%d events from one SES event", len(events))
		}
		for _, ev := range events {
			// A value no store keeps (a NUL byte in an id…) is the
			// engine's to reject; the handler then lists the item.
			if err := ev.Validate(); err != nil && !errors.Is(err, event.ErrUnstorable) && !errors.Is(err, event.ErrTooLarge) {
				t.Fatalf("invalid event %+v: %v", ev, err)
			}
		}
	})
}
