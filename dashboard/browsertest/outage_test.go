package browsertest

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/chromedp/chromedp"
)

// downStore is a memory store whose campaigns cannot be read while down
// is set, as a database that stopped answering.
type downStore struct {
	*store.Memory
	down *atomic.Bool
}

var errDown = errors.New("dial tcp 10.0.0.7:5432: connection refused")

func (s downStore) Campaigns(ctx context.Context, ns string) (int64, []store.CampaignRecord, error) {
	if s.down.Load() {
		return 0, nil, errDown
	}
	return s.Memory.Campaigns(ctx, ns)
}

func (s downStore) Revision(ctx context.Context, ns string) (int64, error) {
	if s.down.Load() {
		return 0, errDown
	}
	return s.Memory.Revision(ctx, ns)
}

// A page opened while the store does not answer is a 503 page that
// points to the health page and loads itself again, in the browser, until
// the store is back: then it is the page asked for, with no one reloading
// it by hand.
func TestAPageOpenedDuringAnOutageShowsItselfOnceTheStoreIsBack(t *testing.T) {
	b := newBrowser(t)
	s := downStore{store.NewMemory(), new(atomic.Bool)}
	send := connector.SenderFunc(func(context.Context, connector.Delivery) error { return nil })
	e, err := connector.New(s, send)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Apply(context.Background(), []rule.Campaign{{ID: "newsletter"}}); err != nil {
		t.Fatal(err)
	}
	base := serveDashboard(t, e)

	s.down.Store(true)
	b.navigate(base)
	if text := eval[string](b, `document.querySelector('main').textContent`); !strings.Contains(text, "could not read the store") ||
		!eval[bool](b, `!!document.querySelector('main a[href="health"]')`) {
		t.Fatalf("the page during the outage does not say so or point to the health page: %q", text)
	}
	// The browser reports the 503 itself; any other problem is the page's.
	for _, p := range b.takeProblems() {
		if !strings.Contains(p, "503") {
			t.Errorf("the 503 page: %s", p)
		}
	}
	s.down.Store(false)
	// The reload navigates: a poll under way when it happens ends with
	// the old page, and the next one asks the new page.
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	for shown := false; !shown; {
		shown, err = chromedp.Run(ctx, chromedp.Poll[bool](`document.title.startsWith('Campaigns')`,
			chromedp.WithPollingInterval(100*time.Millisecond)))
		if ctx.Err() != nil {
			t.Fatalf("the store is back, yet the page did not load the campaigns: %v", err)
		}
	}
	if got := eval[bool](b, `!!document.querySelector('meta[http-equiv="refresh"]')`); got {
		t.Error("the campaigns page, shown again, still reloads itself")
	}
	b.clean("the campaigns page after the outage")
}
