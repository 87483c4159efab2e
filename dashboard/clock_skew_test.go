package dashboard

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/store"
)

// serverClockStore is a memory store with a server clock, as PostgreSQL
// has: the server's time is the engine's mock clock less ahead.
type serverClockStore struct {
	*store.Memory
	clk   *clock.Mock
	ahead time.Duration // how far the engine's clock is ahead of the server's
}

func (s serverClockStore) ServerNow(context.Context) (time.Time, error) {
	return s.clk.Now().Add(-s.ahead), nil
}

// clockSection returns the health page's clock section, or "" when the
// page has none.
func clockSection(t *testing.T, h http.Handler) string {
	t.Helper()
	page := body(t, get(t, h, "/health"), http.StatusOK)
	if !strings.Contains(page, `id="clock-skew"`) {
		return ""
	}
	return section(t, page, `id="clock-skew"`, "</section>")
}

// The health page says how far the engine's clock is from the store's
// server clock, flags it from 5 s either way, and shows nothing for a
// store without a server clock.
func TestHealthPageComparesTheClocks(t *testing.T) {
	f := populatedFake()
	h := mustHandler(t, f)
	if got := clockSection(t, h); got != "" {
		t.Errorf("a store without a server clock shows a clock:\n%s", got)
	}
	for _, c := range []struct {
		skew  time.Duration
		words string
		flag  bool
	}{
		{300 * time.Millisecond, "0.3 s ahead of", false},
		{-12 * time.Millisecond, "12 ms behind", false},
		{400 * time.Microsecond, "within a millisecond of", false},
		{4900 * time.Millisecond, "4.9 s ahead of", false},
		{5 * time.Second, "5.0 s ahead of", true},
		{-7260 * time.Millisecond, "7.3 s behind", true},
		{-2*time.Hour - 3*time.Second, "2 hours 3 seconds behind", true},
	} {
		f.clockSkew = func(context.Context) (time.Duration, error) { return c.skew, nil }
		got := clockSection(t, h)
		if want := ">" + c.words + "</span> the database server."; !strings.Contains(got, want) {
			t.Errorf("skew %v: no %q in\n%s", c.skew, want, got)
		}
		if flagged := strings.Contains(got, `data-note="clock-skew"`); flagged != c.flag {
			t.Errorf("skew %v: flagged %t, want %t:\n%s", c.skew, flagged, c.flag, got)
		}
		if mentioned := strings.Contains(got, "That is 5 s or more") && strings.Contains(got, "send it twice"); mentioned != c.flag {
			t.Errorf("skew %v: the risk is said %t, want %t:\n%s", c.skew, mentioned, c.flag, got)
		}
	}
}

// A reading that fails is shown as failed, not as a skew of zero, and
// its error goes to the log under the reference the page gives.
func TestHealthPageSaysTheClockReadingFailed(t *testing.T) {
	f := populatedFake()
	f.clockSkew = func(context.Context) (time.Duration, error) { return 0, errors.New("connection refused by db-7") }
	var logged bytes.Buffer
	h := mustHandler(t, f, WithLogger(slog.New(slog.NewTextHandler(&logged, nil))))
	got := clockSection(t, h)
	if !strings.Contains(got, `data-note="clock-skew"`) || !strings.Contains(got, "not compared with the database server") {
		t.Errorf("the failure is not said:\n%s", got)
	}
	if strings.Contains(got, "data-clock-skew=") || strings.Contains(got, "within a millisecond") {
		t.Errorf("a failed reading shows a skew:\n%s", got)
	}
	if strings.Contains(got, "db-7") {
		t.Errorf("the page shows the store's error:\n%s", got)
	}
	ref := regexpMust(`reference ([A-Z2-7]{10})`).FindStringSubmatch(got)
	if ref == nil || !strings.Contains(logged.String(), "ref="+ref[1]) || !strings.Contains(logged.String(), "db-7") {
		t.Errorf("the error is not logged under the page's reference; page:\n%s\nlog:\n%s", got, logged.String())
	}
}

// leasedFake is a fake source whose engine has a lease.
type leasedFake struct {
	*fakeSource
	lease time.Duration
}

func (f leasedFake) Lease() time.Duration { return f.lease }

// With a lease shorter than the default, the page flags the clock from a
// twelfth of it and says the quarter of that lease; a real engine's
// default lease keeps the 5 s flag.
func TestHealthPageFlagsTheClockAgainstTheLease(t *testing.T) {
	f := populatedFake()
	h := mustHandler(t, leasedFake{f, 20 * time.Second})
	for _, c := range []struct {
		skew time.Duration
		flag bool
	}{
		{1600 * time.Millisecond, false},
		{1700 * time.Millisecond, true},
		{-2 * time.Second, true},
	} {
		f.clockSkew = func(context.Context) (time.Duration, error) { return c.skew, nil }
		got := clockSection(t, h)
		if flagged := strings.Contains(got, `data-note="clock-skew"`); flagged != c.flag {
			t.Errorf("skew %v, lease 20 s: flagged %t, want %t:\n%s", c.skew, flagged, c.flag, got)
		}
		if c.flag && !strings.Contains(got, "That is 1.7 s or more") || c.flag && !strings.Contains(got, "(5 s with this engine's lease of 20 s)") {
			t.Errorf("skew %v, lease 20 s: the flag's text does not name the lease:\n%s", c.skew, got)
		}
	}

	f.clockSkew = func(context.Context) (time.Duration, error) { return 4900 * time.Millisecond, nil }
	if got := clockSection(t, mustHandler(t, leasedFake{f, 5 * time.Minute})); strings.Contains(got, `data-note="clock-skew"`) {
		t.Errorf("a long lease flags below 5 s:\n%s", got)
	}
}

// A source without ClockSkew (one that only has the methods the pages
// need) shows no clock.
func TestHealthPageWithoutClockSkewer(t *testing.T) {
	f := populatedFake()
	f.clockSkew = func(context.Context) (time.Duration, error) { return time.Minute, nil }
	if got := clockSection(t, mustHandler(t, struct{ source }{f})); got != "" {
		t.Errorf("a source without ClockSkew shows a clock:\n%s", got)
	}
}

// An engine reads its store's server clock: the page shows exactly how far
// the mock clock is from it, and nothing on a store without one.
func TestHealthPageShowsTheEnginesClockSkew(t *testing.T) {
	send := connector.SenderFunc(func(context.Context, connector.Delivery) error { return nil })
	clk := clock.NewMock()
	clk.Set(fixtureNow)
	e, err := connector.New(serverClockStore{Memory: store.NewMemory(), clk: clk, ahead: 1500 * time.Millisecond}, send, connector.WithClock(clk))
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(e, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	got := clockSection(t, h)
	if want := `<span data-clock-skew="1.5">1.5 s ahead of</span> the database server.`; !strings.Contains(got, want) {
		t.Errorf("no %q in\n%s", want, got)
	}
	if e.Lease() != time.Minute {
		t.Errorf("Lease() = %v, want the default, a minute", e.Lease())
	}
	if want := "(15 s with this engine's lease of 1 minute)"; strings.Contains(got, "That is") && !strings.Contains(got, want) {
		t.Errorf("no %q in\n%s", want, got)
	}

	e, err = connector.New(store.NewMemory(), send, connector.WithClock(clk))
	if err != nil {
		t.Fatal(err)
	}
	if h, err = New(e, quietLogger()); err != nil {
		t.Fatal(err)
	}
	if got := clockSection(t, h); got != "" {
		t.Errorf("the memory store shows a clock:\n%s", got)
	}
}
