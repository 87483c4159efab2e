package sendgrid_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/webhook"
	"github.com/campaignconnector/campaignconnector/webhook/sendgrid"
)

// A SendGrid batch through the handler. In a real host the tracker is the
// engine (*connector.Engine); here it prints what it gets.
func Example() {
	// SendGrid's side: a key pair, whose public half the console shows as
	// the verification key, and a signed batch.
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	verificationKey := base64.StdEncoding.EncodeToString(der)
	body := []byte(`[
		{"event":"processed","sg_event_id":"sg-0","timestamp":1767603590,"campaign_id":"newsletter","user_id":"ann"},
		{"event":"delivered","sg_event_id":"sg-1","timestamp":1767603600,"campaign_id":"newsletter","user_id":"ann"},
		{"event":"open","sg_event_id":"sg-2","timestamp":1767690000,"campaign_id":"newsletter","user_id":"ann"}
	]`)
	ts := "1767690005"
	sum := sha256.Sum256(append([]byte(ts), body...))
	sig, _ := ecdsa.SignASN1(rand.Reader, priv, sum[:])
	req := httptest.NewRequest(http.MethodPost, "/webhooks/sendgrid", bytes.NewReader(body))
	req.Header.Set(sendgrid.SignatureHeader, base64.StdEncoding.EncodeToString(sig))
	req.Header.Set(sendgrid.TimestampHeader, ts)

	// The host's side.
	parser, err := sendgrid.New(verificationKey)
	if err != nil {
		panic(err)
	}
	handler, err := webhook.NewHandler(parser, webhook.TrackerFunc(func(_ context.Context, ev event.Event) error {
		fmt.Println(ev.ID, ev.Kind, ev.CampaignID, ev.UserID, ev.Time.Format(time.RFC3339))
		return nil
	}))
	if err != nil {
		panic(err)
	}
	w := httptest.NewRecorder()
	handler.ServeHTTP(w, req)
	fmt.Print(w.Code, " ", w.Body.String())
	// Output:
	// sg-1 email_received newsletter ann 2026-01-05T09:00:00Z
	// sg-2 email_opened newsletter ann 2026-01-06T09:00:00Z
	// 200 {"tracked":2}
}
