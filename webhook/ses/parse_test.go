package ses_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/webhook"
	"github.com/campaignconnector/campaignconnector/webhook/ses"
	"github.com/campaignconnector/campaignconnector/webhook/ses/sestest"
	"github.com/stretchr/testify/require"
)

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func TestParseFixtures(t *testing.T) {
	aws := newFakeAWS(t)
	const link = "https://shop.example.com/sale?utm_source=newsletter"
	tests := []struct {
		name    string
		file    string
		opts    []ses.Option
		want    []event.Event
		itemErr error
	}{
		{name: "Delivery is email_received at delivery.timestamp", file: "delivery.json", want: []event.Event{
			{ID: msgID, UserID: "ann", Kind: event.EmailReceived, CampaignID: "newsletter", Time: at("2026-01-05T09:00:04.133Z")},
		}},
		{name: "Open is email_opened at open.timestamp", file: "open.json", want: []event.Event{
			{ID: msgID, UserID: "ann", Kind: event.EmailOpened, CampaignID: "newsletter", Time: at("2026-01-07T09:00:19.652Z")},
		}},
		{name: "Click is email_clicked at click.timestamp", file: "click.json", want: []event.Event{
			{ID: msgID, UserID: "ann", Kind: event.EmailClicked, CampaignID: "newsletter", Time: at("2026-01-07T09:01:25.570Z"),
				Properties: map[string]any{"url": link}},
		}},
		{name: "Click on a tagged link is also email_alias_clicked", file: "click_alias.json", want: []event.Event{
			{ID: msgID, UserID: "ann", Kind: event.EmailClicked, CampaignID: "newsletter", Time: at("2026-01-07T09:02:00.001Z"),
				Properties: map[string]any{"url": "https://shop.example.com/cart"}},
			{ID: msgID + "/alias", UserID: "ann", Kind: event.EmailAliasClicked, CampaignID: "newsletter", Target: "cta",
				Time: at("2026-01-07T09:02:00.001Z"), Properties: map[string]any{"url": "https://shop.example.com/cart"}},
		}},
		{name: "alias tag configured", file: "click_alias.json", opts: []ses.Option{ses.WithAliasTag("button")}, want: []event.Event{
			{ID: msgID, UserID: "ann", Kind: event.EmailClicked, CampaignID: "newsletter", Time: at("2026-01-07T09:02:00.001Z"),
				Properties: map[string]any{"url": "https://shop.example.com/cart"}},
			{ID: msgID + "/alias", UserID: "ann", Kind: event.EmailAliasClicked, CampaignID: "newsletter", Target: "hero",
				Time: at("2026-01-07T09:02:00.001Z"), Properties: map[string]any{"url": "https://shop.example.com/cart"}},
		}},
		{name: "alias clicks off", file: "click_alias.json", opts: []ses.Option{ses.WithAliasTag("")}, want: []event.Event{
			{ID: msgID, UserID: "ann", Kind: event.EmailClicked, CampaignID: "newsletter", Time: at("2026-01-07T09:02:00.001Z"),
				Properties: map[string]any{"url": "https://shop.example.com/cart"}},
		}},
		{name: "Open without its timestamp falls back to mail.timestamp", file: "open_no_timestamp.json", want: []event.Event{
			{ID: msgID, UserID: "cleo", Kind: event.EmailOpened, CampaignID: "newsletter", Time: at("2026-01-05T09:00:00.240Z")},
		}},
		{name: "Send is skipped", file: "send.json"},
		{name: "Bounce is skipped", file: "bounce.json"},
		{name: "SES's validation message is skipped", file: "validation_message.txt"},
		{name: "custom mapping", file: "delivery.json", opts: []ses.Option{ses.WithMapping(webhook.Mapping{CampaignKey: "ses:configuration-set"})},
			want: []event.Event{
				{ID: msgID, UserID: "ann", Kind: event.EmailReceived, CampaignID: "engagement", Time: at("2026-01-05T09:00:04.133Z")},
			}},
		{name: "empty user tag", file: "delivery_no_user.json", itemErr: webhook.ErrMissingID},
		{name: "tags that are not lists", file: "bad_tags.json", itemErr: webhook.ErrBadItem},
	}
	for _, tc := range tests {
		for _, version := range []string{"1", "2"} {
			t.Run(tc.name+"/SignatureVersion "+version, func(t *testing.T) {
				p := newParser(t, aws, tc.opts...)
				body := aws.sns.Body(t, aws.notification(fixture(t, tc.file), version))
				got, err := p.Parse(request(body), body)
				require.Equal(t, tc.want, got)
				indexed, positions, ierr := p.ParseIndexed(request(body), body)
				require.Equal(t, tc.want, indexed)
				require.Equal(t, make([]int, len(got)), positions, "one item per request, even for two events")
				require.Equal(t, err, ierr)
				if tc.itemErr == nil {
					require.NoError(t, err)
					return
				}
				items := webhook.ItemErrors(err)
				require.Len(t, items, 1, "%v", err)
				require.ErrorIs(t, items[0], tc.itemErr)
				require.Equal(t, msgID, items[0].ProviderEventID)
				require.Equal(t, "ses", items[0].Provider)
			})
		}
	}
}

func TestSignature(t *testing.T) {
	msg := fixture(t, "open.json")
	signed := func(a *fakeAWS) sestest.Message { return a.sns.Sign(t, a.notification(msg, "2")) }
	tests := []struct {
		name      string
		opts      []ses.Option
		certCode  int
		body      func(a *fakeAWS) []byte
		ok        bool
		transient bool // a plain error: worth a retry
	}{
		{name: "valid", body: func(a *fakeAWS) []byte { return mustJSON(t, signed(a)) }, ok: true},
		{name: "valid with a Subject", body: func(a *fakeAWS) []byte {
			m := a.notification(msg, "1")
			m.Subject = "Amazon SES Email Event Notification"
			return a.sns.Body(t, m)
		}, ok: true},
		{name: "tampered Message", body: func(a *fakeAWS) []byte {
			m := signed(a)
			m.Message = strings.Replace(m.Message, `"ann"`, `"eve"`, 1)
			return mustJSON(t, m)
		}},
		{name: "Subject added after signing", body: func(a *fakeAWS) []byte {
			m := signed(a)
			m.Subject = "hi"
			return mustJSON(t, m)
		}},
		{name: "wrong key", body: func(a *fakeAWS) []byte {
			return sestest.New(t).Body(t, a.notification(msg, "2")) // another SNS, pointing at this one's certificate
		}},
		{name: "version 1 signature announced as version 2", body: func(a *fakeAWS) []byte {
			m := a.sns.Sign(t, a.notification(msg, "1"))
			m.SignatureVersion = "2"
			return mustJSON(t, m)
		}},
		{name: "unknown signature version", body: func(a *fakeAWS) []byte { return a.sns.Body(t, a.notification(msg, "3")) }},
		{name: "no signature", body: func(a *fakeAWS) []byte { return mustJSON(t, a.notification(msg, "2")) }},
		{name: "signature not base64", body: func(a *fakeAWS) []byte {
			m := signed(a)
			m.Signature = "***"
			return mustJSON(t, m)
		}},
		{name: "certificate over http", body: withCertURL(t, msg, "http://sns.us-east-1.amazonaws.com/cert.pem")},
		{name: "certificate on another host", body: withCertURL(t, msg, "https://sns.us-east-1.amazonaws.com.evil.example/cert.pem")},
		{name: "certificate host in the path", body: withCertURL(t, msg, "https://evil.example/sns.us-east-1.amazonaws.com/cert.pem")},
		{name: "certificate with credentials", body: withCertURL(t, msg, "https://user@sns.us-east-1.amazonaws.com/cert.pem")},
		{name: "certificate on another port", body: withCertURL(t, msg, "https://sns.us-east-1.amazonaws.com:8443/cert.pem")},
		{name: "certificate on s3", body: withCertURL(t, msg, "https://s3.amazonaws.com/cert.pem")},
		{name: "china region accepted", body: withCertURL(t, msg, "https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-cn.pem"), ok: true},
		{name: "certificate not found", certCode: 404, body: func(a *fakeAWS) []byte { return mustJSON(t, signed(a)) }},
		{name: "certificate server down", certCode: 503, transient: true, body: func(a *fakeAWS) []byte { return mustJSON(t, signed(a)) }},
		{name: "topic accepted", opts: []ses.Option{ses.WithTopics("arn:aws:sns:eu-west-1:123456789012:other", topic)},
			body: func(a *fakeAWS) []byte { return mustJSON(t, signed(a)) }, ok: true},
		{name: "topic not accepted", opts: []ses.Option{ses.WithTopics("arn:aws:sns:eu-west-1:123456789012:other")},
			body: func(a *fakeAWS) []byte { return mustJSON(t, signed(a)) }},
		// The notifications are published at 2026-01-07T09:02:00.100Z.
		{name: "within max age", opts: []ses.Option{ses.WithMaxAge(2 * time.Hour), ses.WithClock(clockAt(published.Add(2 * time.Hour)))},
			body: func(a *fakeAWS) []byte { return mustJSON(t, signed(a)) }, ok: true},
		{name: "past max age", opts: []ses.Option{ses.WithMaxAge(2 * time.Hour), ses.WithClock(clockAt(published.Add(2*time.Hour + time.Millisecond)))},
			body: func(a *fakeAWS) []byte { return mustJSON(t, signed(a)) }},
		{name: "from beyond max age in the future", opts: []ses.Option{ses.WithMaxAge(2 * time.Hour), ses.WithClock(clockAt(published.Add(-3 * time.Hour)))},
			body: func(a *fakeAWS) []byte { return mustJSON(t, signed(a)) }},
		{name: "stale accepted without max age", opts: []ses.Option{ses.WithClock(clockAt(published.Add(90 * 24 * time.Hour)))},
			body: func(a *fakeAWS) []byte { return mustJSON(t, signed(a)) }, ok: true},
		{name: "at the max age", opts: []ses.Option{ses.WithMaxAge(24 * time.Hour), ses.WithClock(clockAt(published.Add(24 * time.Hour)))},
			body: func(a *fakeAWS) []byte { return mustJSON(t, signed(a)) }, ok: true},
		{name: "just past the max age", opts: []ses.Option{ses.WithMaxAge(24 * time.Hour), ses.WithClock(clockAt(published.Add(24*time.Hour + time.Millisecond)))},
			body: func(a *fakeAWS) []byte { return mustJSON(t, signed(a)) }},
		{name: "stale accepted with a longer max age", opts: []ses.Option{ses.WithMaxAge(100 * 24 * time.Hour), ses.WithClock(clockAt(published.Add(90 * 24 * time.Hour)))},
			body: func(a *fakeAWS) []byte { return mustJSON(t, signed(a)) }, ok: true},
		{name: "stale Timestamp made fresh after signing", opts: []ses.Option{ses.WithMaxAge(2 * time.Hour), ses.WithClock(clockAt(published.Add(5 * time.Hour)))},
			body: func(a *fakeAWS) []byte {
				m := signed(a)
				m.Timestamp = published.Add(5 * time.Hour).Format(time.RFC3339Nano)
				return mustJSON(t, m)
			}},
		{name: "signed Timestamp not a time", opts: []ses.Option{ses.WithMaxAge(2 * time.Hour), ses.WithClock(clockAt(published))},
			body: func(a *fakeAWS) []byte {
				m := a.notification(msg, "2")
				m.Timestamp = "yesterday"
				return a.sns.Body(t, m)
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			aws := newFakeAWS(t)
			aws.certStatus = tc.certCode
			p := newParser(t, aws, tc.opts...)
			body := tc.body(aws)
			got, err := p.Parse(request(body), body)
			switch {
			case tc.ok:
				require.NoError(t, err)
				require.Len(t, got, 1)
			case tc.transient:
				require.Error(t, err)
				require.NotErrorIs(t, err, webhook.ErrSignature)
				require.NotErrorIs(t, err, webhook.ErrPayload)
				require.Nil(t, got)
			default:
				require.ErrorIs(t, err, webhook.ErrSignature)
				require.Nil(t, got)
			}
		})
	}
}

// withCertURL returns the body of a notification signed by the SNS and
// naming u (which the signature does not cover) as its SigningCertURL.
func withCertURL(t *testing.T, msg []byte, u string) func(a *fakeAWS) []byte {
	return func(a *fakeAWS) []byte {
		m := a.sns.Sign(t, a.notification(msg, "2"))
		m.SigningCertURL = u
		return mustJSON(t, m)
	}
}

func TestParseMalformed(t *testing.T) {
	aws := newFakeAWS(t)
	p := newParser(t, aws)
	for _, body := range []string{``, `[]`, `{"Type":"Notification"`, `{"Type":"Other"}`, `{"Type":7}`, `{}`} {
		got, err := p.Parse(request([]byte(body)), []byte(body))
		require.ErrorIs(t, err, webhook.ErrPayload, "%q", body)
		require.Nil(t, got)
	}
	fetched, _ := aws.counts()
	require.Zero(t, fetched, "malformed bodies cost no certificate fetch")
}

func TestCertificateCache(t *testing.T) {
	aws := newFakeAWS(t)
	p := newParser(t, aws)
	post := func(u string) {
		t.Helper()
		m := aws.notification(fixture(t, "open.json"), "2")
		m.SigningCertURL = u
		body := aws.sns.Body(t, m)
		_, err := p.Parse(request(body), body)
		require.NoError(t, err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { post(certURL) })
	}
	wg.Wait()
	fetched, _ := aws.counts()
	require.LessOrEqual(t, fetched, 8)
	post(certURL)
	after, _ := aws.counts()
	require.Equal(t, fetched, after, "a cached certificate is not fetched again")

	// The cache is bounded: after enough other certificates, the first
	// one has to be fetched again.
	for i := range 20 {
		post(fmt.Sprintf("https://sns.us-east-1.amazonaws.com/SimpleNotificationService-%d.pem", i))
	}
	before, _ := aws.counts()
	post(certURL)
	after, _ = aws.counts()
	require.Equal(t, before+1, after)
}

func TestSubscriptionConfirmation(t *testing.T) {
	tests := []struct {
		name          string
		file          string
		opts          []ses.Option
		confirmStatus int
		confirmed     bool // the parser confirmed it
		transient     bool
	}{
		{name: "handed to the host by default", file: "subscription_confirmation.json"},
		{name: "confirmed automatically for an accepted topic", file: "subscription_confirmation.json",
			opts: []ses.Option{ses.WithTopics(topic), ses.WithAutoConfirm()}, confirmed: true},
		{name: "failed automatic confirmation is transient", file: "subscription_confirmation.json",
			opts: []ses.Option{ses.WithTopics(topic), ses.WithAutoConfirm()}, confirmStatus: 500, transient: true},
		{name: "unsubscribe is never acted on", file: "unsubscribe_confirmation.json",
			opts: []ses.Option{ses.WithTopics(topic), ses.WithAutoConfirm()}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			aws := newFakeAWS(t)
			aws.confirmStatus = tc.confirmStatus
			env := envelopeFixture(t, tc.file)
			p := newParser(t, aws, append([]ses.Option{ses.WithClock(clockAt(stamp(t, env.Timestamp)))}, tc.opts...)...)
			body := aws.sns.Body(t, env)
			got, err := p.Parse(request(body), body)
			require.Nil(t, got)
			_, confirms := aws.counts()
			if tc.transient {
				require.Error(t, err)
				require.NotErrorIs(t, err, webhook.ErrControl)
				require.Equal(t, 1, confirms)
				return
			}
			require.ErrorIs(t, err, webhook.ErrControl)
			var c *ses.Confirmation
			require.ErrorAs(t, err, &c)
			require.Equal(t, env.Type, c.Type)
			require.Equal(t, topic, c.TopicArn)
			require.Equal(t, env.Token, c.Token)
			require.Equal(t, env.SubscribeURL, c.SubscribeURL)
			require.Equal(t, tc.confirmed, c.Confirmed)
			require.Equal(t, map[bool]int{true: 1, false: 0}[tc.confirmed], confirms)
		})
	}
}

func TestForgedConfirmationIsNotConfirmed(t *testing.T) {
	aws := newFakeAWS(t)
	p := newParser(t, aws, ses.WithTopics(topic), ses.WithAutoConfirm())
	body := sestest.New(t).Body(t, envelopeFixture(t, "subscription_confirmation.json")) // another SNS's signature
	_, err := p.Parse(request(body), body)
	require.ErrorIs(t, err, webhook.ErrSignature)
	_, confirms := aws.counts()
	require.Zero(t, confirms)
}

func TestConfirm(t *testing.T) {
	aws := newFakeAWS(t)
	c := &ses.Confirmation{Type: ses.TypeSubscriptionConfirmation, TopicArn: topic,
		SubscribeURL: "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=" + topic + "&Token=t"}
	require.NoError(t, c.Confirm(context.Background(), aws.client()))
	for _, u := range []string{"https://evil.example/?Action=ConfirmSubscription", "http://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription", ":"} {
		c.SubscribeURL = u
		require.Error(t, c.Confirm(context.Background(), aws.client()), u)
	}
	_, confirms := aws.counts()
	require.Equal(t, 1, confirms)
}

func TestHandlerAnswersConfirmations(t *testing.T) {
	aws := newFakeAWS(t)
	env := envelopeFixture(t, "subscription_confirmation.json")
	p := newParser(t, aws, ses.WithClock(clockAt(stamp(t, env.Timestamp))))
	var got *ses.Confirmation
	h, err := webhook.NewHandler(p, webhook.TrackerFunc(func(context.Context, event.Event) error { return nil }),
		webhook.WithErrorFunc(func(_ *http.Request, err error) { errors.As(err, &got) }))
	require.NoError(t, err)
	body := aws.sns.Body(t, env)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, request(body))
	require.Equal(t, http.StatusOK, w.Code)
	require.NotNil(t, got)
	require.Equal(t, topic, got.TopicArn)
}

// TestNewSaysWhatIsWrong: each setting New rejects is named in the error.
func TestNewSaysWhatIsWrong(t *testing.T) {
	notARN := func(arn string) string {
		return fmt.Sprintf("ses: WithTopics: %q is not an SNS topic ARN: want arn:aws:sns:<region>:<12-digit account>:<topic name>", arn)
	}
	bad := []struct {
		name string
		opts []ses.Option
		want string
	}{
		{"auto-confirm without topics", []ses.Option{ses.WithAutoConfirm()},
			"ses: WithAutoConfirm requires WithTopics: any AWS account can subscribe the endpoint to its topics"},
		{"no topic", []ses.Option{ses.WithTopics()}, "ses: WithTopics needs at least one topic ARN"},
		{"empty topic ARN", []ses.Option{ses.WithTopics(topic, "")}, "ses: WithTopics: empty topic ARN"},
		{"topic name alone", []ses.Option{ses.WithTopics("ses-engagement")}, notARN("ses-engagement")},
		{"ARN with a trailing newline", []ses.Option{ses.WithTopics(topic + "\n")}, notARN(topic + "\n")},
		{"ARN of a queue", []ses.Option{ses.WithTopics("arn:aws:sqs:us-east-1:123456789012:ses-engagement")},
			notARN("arn:aws:sqs:us-east-1:123456789012:ses-engagement")},
		{"ARN without its account", []ses.Option{ses.WithTopics("arn:aws:sns:us-east-1::ses-engagement")},
			notARN("arn:aws:sns:us-east-1::ses-engagement")},
		{"ARN without its region", []ses.Option{ses.WithTopics("arn:aws:sns::123456789012:ses-engagement")},
			notARN("arn:aws:sns::123456789012:ses-engagement")},
		{"ARN of a subscription", []ses.Option{ses.WithTopics(topic + ":2bcfbf39-05c3-41de-beaa-fcfcc21c8f55")},
			notARN(topic + ":2bcfbf39-05c3-41de-beaa-fcfcc21c8f55")},
		{"nil HTTP client", []ses.Option{ses.WithHTTPClient(nil)}, "ses: nil HTTP client"},
		{"nil root pool", []ses.Option{ses.WithRoots(nil)}, "ses: nil root pool"},
		{"nil option", []ses.Option{nil}, "ses: nil option"},
		{"zero max age", []ses.Option{ses.WithMaxAge(0)}, "ses: max age must be positive, got 0s"},
		{"negative max age", []ses.Option{ses.WithMaxAge(-time.Minute)}, "ses: max age must be positive, got -1m0s"},
		{"nil clock", []ses.Option{ses.WithClock(nil)}, "ses: nil clock"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ses.New(tc.opts...)
			require.EqualError(t, err, tc.want)
			require.Nil(t, p)
		})
	}
}

func TestNewAcceptsTopicsOfEveryPartition(t *testing.T) {
	for _, arn := range []string{
		topic,
		"arn:aws:sns:eu-west-3:123456789012:events.fifo",
		"arn:aws-cn:sns:cn-north-1:123456789012:ses_events",
		"arn:aws-us-gov:sns:us-gov-west-1:123456789012:SES-Events-1",
	} {
		p, err := ses.New(ses.WithTopics(arn), ses.WithAutoConfirm())
		require.NoError(t, err, arn)
		require.NotNil(t, p)
	}
	p, err := ses.New()
	require.NoError(t, err)
	require.NotNil(t, p)
}

// stamp reads an SNS Timestamp.
func stamp(t *testing.T, s string) time.Time {
	t.Helper()
	at, err := time.Parse(time.RFC3339Nano, s)
	require.NoError(t, err)
	return at
}

// TestMaxAgeError: a message replayed after the engine's deduplication
// window is refused, with an error naming its age and the limit.
func TestMaxAgeError(t *testing.T) {
	aws := newFakeAWS(t)
	p := newParser(t, aws, ses.WithMaxAge(24*time.Hour), ses.WithClock(clockAt(published.Add(73*time.Hour))))
	body := mustJSON(t, aws.sns.Sign(t, aws.notification(fixture(t, "open.json"), "2")))
	got, err := p.Parse(request(body), body)
	require.Nil(t, got)
	var ae *webhook.AgeError
	require.ErrorAs(t, err, &ae)
	require.ErrorIs(t, err, webhook.ErrSignature)
	require.Equal(t, webhook.AgeError{Provider: "ses", Signed: "SNS Timestamp 2026-01-07T09:02:00.100Z",
		Age: 73 * time.Hour, Max: 24 * time.Hour}, *ae)
	require.EqualError(t, err, "ses: webhook: signature check failed: SNS Timestamp 2026-01-07T09:02:00.100Z off by 73h0m0s, over 24h0m0s")
}
