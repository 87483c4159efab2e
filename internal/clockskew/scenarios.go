package clockskew

import (
	"fmt"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
)

// Leases is the lease experiment: the engine behind (one send slot) claims
// two deliveries due at start+1m, before the engine ahead starts to Run
// (a replica deployed a second later). Its send of x lasts 30.5 s; y
// waits for the slot, so its confirmation at start+1m30.5s renews its
// lease, half a second out of step with the keeper, whose rounds count
// from x's send: the keeper renews y's lease when 15.5 s of it are left.
// y's send lasts 90 s. The engine ahead then claims whatever its own
// clock shows as free.
func Leases(t *testing.T, open Opener, skew time.Duration) Result {
	return measure(t, open, leases(), skew)
}

// leases is the scenario of [Leases].
func leases() scenario {
	trig := []rule.Trigger{{Kind: event.PushOpened, CampaignID: "o"}}
	return scenario{
		campaigns: []rule.Campaign{
			{ID: "o"},
			{ID: "slow", Triggers: trig, Channel: event.Push, Delay: rule.After(time.Minute)},
		},
		tracks: []track{
			{0, 0, event.Event{ID: "open-x", UserID: "x", Kind: event.PushOpened, CampaignID: "o"}},
			{0, 0, event.Event{ID: "open-y", UserID: "y", Kind: event.PushOpened, CampaignID: "o"}},
		},
		options: func(int) []connector.Option { return []connector.Option{connector.WithSendConcurrency(1)} },
		latency: func(d connector.Delivery) time.Duration {
			if d.UserID == "x" {
				return 30*time.Second + 500*time.Millisecond
			}
			return 90 * time.Second
		},
		runAt: [2]time.Duration{0, time.Minute + time.Second},
		until: 5 * time.Minute,
	}
}

// The controls of the controls experiment.
var (
	emailCap = connector.FrequencyCap{Max: 1, Channel: event.Email, Window: 10 * time.Minute}
	quiet    = connector.QuietHours{From: rule.At(8, 30), To: rule.At(8, 40), Defer: true}
	window   = rule.SendWindow{From: rule.At(8, 45), To: rule.At(9, 0), NextAvailable: true}
)

// users is how many users the controls experiment triggers.
const users = 12

// Controls is the controls experiment: both engines Run from the start,
// with one send slot each, and users open an original, through either
// engine, one every 25 s. Each opening triggers:
//   - hog: a push whose send takes 20 s to a minute, so that each engine
//     is busy now and then and the other sends what falls due meanwhile;
//   - mail1 and mail2: emails due 2 and 12 minutes later, under a cap of
//     one email in 10 minutes (a delivery exactly 10 minutes ago no
//     longer counts, so both may go);
//   - rated: a webhook due 3 minutes later, rate-limited to one a minute;
//   - night: an SMS due 31 minutes later, in quiet hours (08:30 to 08:40,
//     deferred to 08:40);
//   - window: an in-app message due 20 minutes later, moved to its send
//     window (08:45 to 09:00).
//
// Apart from hog, sends return at once.
func Controls(t *testing.T, open Opener, skew time.Duration) Result {
	trig := []rule.Trigger{{Kind: event.PushOpened, CampaignID: "o"}}
	sc := scenario{
		campaigns: []rule.Campaign{
			{ID: "o"},
			{ID: "hog", Triggers: trig, Channel: event.Push, Delay: rule.After(time.Minute), IgnoreFrequencyCaps: true},
			{ID: "mail1", Triggers: trig, Channel: event.Email, Delay: rule.After(2 * time.Minute)},
			{ID: "mail2", Triggers: trig, Channel: event.Email, Delay: rule.After(12 * time.Minute)},
			{ID: "rated", Triggers: trig, Channel: event.Webhook, Delay: rule.After(3 * time.Minute), RateLimit: 1},
			{ID: "night", Triggers: trig, Channel: event.SMS, Delay: rule.After(31 * time.Minute)},
			{ID: "window", Triggers: trig, Channel: event.InApp, Delay: rule.After(20 * time.Minute), SendWindow: &window},
		},
		options: func(int) []connector.Option {
			return []connector.Option{connector.WithSendConcurrency(1), connector.WithFrequencyCaps(emailCap),
				connector.WithQuietHours(quiet)}
		},
		latency: func(d connector.Delivery) time.Duration {
			if d.CampaignID != "hog" {
				return 0
			}
			var u int
			fmt.Sscanf(d.UserID, "u%d", &u)
			return 20*time.Second + time.Duration(u*17%41)*time.Second
		},
		until: 70 * time.Minute,
	}
	for u := range users {
		sc.tracks = append(sc.tracks, track{time.Duration(u) * 25 * time.Second, u % 2,
			event.Event{ID: fmt.Sprint("open-", u), UserID: fmt.Sprint("u", u), Kind: event.PushOpened, CampaignID: "o"}})
	}
	return measure(t, open, sc, skew)
}
