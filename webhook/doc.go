// Package webhook turns the callbacks of mail and SMS providers into
// [event.Event] values for the engine.
//
// A provider calls an HTTP endpoint of the host when a message is
// delivered, opened or clicked. Each sub-package of webhook knows one
// provider: it checks the request's signature (or shared secret) and
// translates the provider's payload, item by item, into interactions:
//
//   - [github.com/campaignconnector/campaignconnector/webhook/sendgrid]:
//     the SendGrid Event Webhook (signed with ECDSA);
//   - [github.com/campaignconnector/campaignconnector/webhook/mailgun]:
//     Mailgun JSON webhooks (HMAC, with replay protection);
//   - [github.com/campaignconnector/campaignconnector/webhook/postmark]:
//     Postmark delivery, open and click webhooks (basic auth or a shared
//     header);
//   - [github.com/campaignconnector/campaignconnector/webhook/ses]: Amazon
//     SES event publishing delivered through Amazon SNS (RSA-signed SNS
//     envelopes, subscription confirmations);
//   - [github.com/campaignconnector/campaignconnector/webhook/twilio]:
//     Twilio SMS status callbacks and link-shortening click events.
//
// Each of them is a [Parser]. [NewHandler] serves one parser over
// net/http and hands the events to a [Tracker], which the engine
// (*connector.Engine) satisfies:
//
//	p, err := sendgrid.New(verificationKey)
//	h, err := webhook.NewHandler(p, engine)
//	http.Handle("POST /webhooks/sendgrid", h)
//
// A replica that only serves webhooks (it does not call the engine's Run)
// calls the engine's FlushTallies as it shuts down, after the server's
// Shutdown and before the store's Close: otherwise the dashboard never
// counts the decisions of its last few seconds.
//
// # Campaign and user ids
//
// Providers know messages and email addresses; the engine needs the
// campaign a message belongs to and the host's user id. The host attaches
// both to every message it sends, in the provider's custom metadata
// (SendGrid custom args, Mailgun user variables, Postmark Metadata, SES
// message tags, query parameters of Twilio's status callback URL), and the
// parsers read them back under the names a [Mapping] gives ("campaign_id"
// and "user_id" unless configured otherwise).
//
// # Errors and status codes
//
// A parser rejects a whole request with an error wrapping [ErrSignature]
// (the request is not proven to come from the provider) or [ErrPayload]
// (the body is not the provider's format). Inside a well-formed batch, an item that
// cannot become an event (no campaign or user id, a malformed field) is
// reported as an [*ItemError] while the other items still become events.
// Provider event types that are not interactions (bounces, spam reports,
// "processed", "deferred"…) are skipped without error. Clicks carry the
// link as a "url" property, which conditions can test, except links over
// 2 KiB, left out so that the event stays within the engine's size limits. [Handler] documents
// which HTTP status each outcome gets, chosen so that providers retry what
// a retry can fix and only that.
package webhook
