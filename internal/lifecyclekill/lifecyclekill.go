// Package lifecyclekill kills a process in the middle of a campaign change
// and restarts as a host does, for the tests of each durable store: the
// SQLite and PostgreSQL stores' tests run the same changes and check the
// same properties, that docs/lifecycle.md and docs/reliability.md promise
// a crash leaves.
//
// A test runs one change (an Apply, a Stop, an Archive, a Publish with a
// backfill, a Tick that sends) in a child process whose store stops the
// process after its n-th write has committed (see [RunChild]); the parent
// kills it there with SIGKILL and restarts: a new store handle and engine
// that applies its set of campaigns, with or without KeepStopped and
// StopOthers, on a mock clock.
//
// Each test first runs its change to the end to count its writes, then
// kills it after a few of them chosen at random; CCMP_LC_HUNT=1 kills it
// after each of them in turn.
//
// A store's tests hand in what differs between stores: how to make a
// database of the test's own, open a store on it, and start a child
// process on it ([Database]).
package lifecyclekill

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// NewDatabase makes a database of t's own, dropped or removed when t ends.
type NewDatabase func(t *testing.T) Database

// Database is one database of a test's own, as the parent reaches it.
type Database interface {
	// Open opens a new store handle on the database, closed when the
	// test ends: a restarted process's.
	Open() store.Store
	// Start starts a child process on the database, with env ("KEY=value")
	// added to its environment; the test's cleanup kills it if it still
	// runs. The child calls [RunChild] when its environment holds
	// [EnvChange].
	Start(name string, env []string) Child
}

// Child is a child process the parent started, as the parent sees it.
type Child interface {
	// Lines returns the child's protocol lines (what [ChildConfig.Say]
	// said, words joined by spaces), closed at the end of its output.
	Lines() <-chan string
	// Kill kills the child with SIGKILL, unless it exited, and waits for
	// it to exit.
	Kill()
	// Wait waits for the child to exit and returns how it exited.
	Wait() error
	// Records reads the file the child's sender appended to, split into
	// fields: "sent ID ..." for each send before it returned, "done ID"
	// for each delivery the store recorded.
	Records(t *testing.T) [][]string
}

// namespace is the engines' namespace, in the parent and in the child.
const namespace = "lc"

// t0 is when the parent sets the store up.
var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// userCount is how many users the parent's set-up tracks.
const userCount = 40

func userID(i int) string { return fmt.Sprintf("lc-%03d", i) }

// engineOptions are the options every engine of the tests shares.
func engineOptions(clk clock.Clock) []connector.Option {
	return []connector.Option{connector.WithClock(clk), connector.WithDecisionLog(100, 30*24*time.Hour),
		connector.WithInteractionLog(30 * 24 * time.Hour), connector.WithNamespace(namespace)}
}

func followUp(id string, kind event.Kind, on string, delay time.Duration) rule.Campaign {
	return rule.Campaign{ID: id, Triggers: []rule.Trigger{{Kind: kind, CampaignID: on}}, Delay: rule.After(delay)}
}

// setV1: a chain news → resend → resend2, and promo → promo_fu.
func setV1() []rule.Campaign {
	resend := followUp("resend", event.EmailReceived, "news", time.Hour)
	resend.Exceptions = []rule.Exception{{Kind: event.EmailOpened, CampaignID: "news"}}
	return []rule.Campaign{{ID: "news"}, resend, followUp("resend2", event.EmailReceived, "resend", time.Hour),
		{ID: "promo"}, followUp("promo_fu", event.PushReceived, "promo", time.Hour)}
}

// setV2 edits resend, adds resend3 to the chain and drops promo_fu.
func setV2() []rule.Campaign {
	set := setV1()[:4]
	set[1].Delay = rule.After(2 * time.Hour)
	return append(set, followUp("resend3", event.EmailReceived, "resend2", time.Hour))
}

// setV3 drops the news chain.
func setV3() []rule.Campaign { return setV1()[3:] }

// setWinback is V1 and winback, which the backfill publishes.
func setWinback() []rule.Campaign {
	return append(setV1(), followUp("winback", event.EmailReceived, "news", 24*time.Hour))
}

// makeChange makes the change a child is told to.
func makeChange(ctx context.Context, e *connector.Engine, change string) error {
	switch change {
	case "apply-v1":
		return e.Apply(ctx, setV1())
	case "apply-v2":
		return e.Apply(ctx, setV2(), connector.StopOthers())
	case "stop":
		return e.Stop(ctx, "resend")
	case "archive":
		return e.Archive(ctx, "resend")
	case "backfill":
		return e.Publish(ctx, "winback", connector.Backfill(t0.Add(-time.Hour)))
	case "tick":
		for {
			if n, err := e.Tick(ctx); err != nil || n == 0 {
				return err
			}
		}
	}
	return fmt.Errorf("unknown change %q", change)
}
