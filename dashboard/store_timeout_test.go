package dashboard

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// serveAt returns the answer to a GET of target and how long it took.
func serveAt(h http.Handler, ctx context.Context, target string) (*httptest.ResponseRecorder, time.Duration) {
	start := time.Now()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequestWithContext(ctx, http.MethodGet, target, nil))
	return rec, time.Since(start)
}

// hungDashboard returns, inside a synctest bubble, the dashboard (with
// opts, its log discarded unless opts say otherwise) of an engine on a
// store that hangs every call from now on.
func hungDashboard(t *testing.T, opts ...Option) http.Handler {
	t.Helper()
	clk := clock.NewMock()
	clk.Set(fixtureNow)
	s := hungOutage(clk)
	h, err := New(outageEngine(t, s, clk), append([]Option{quietLogger()}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	s.out.Store(true)
	return h
}

// While the store hangs, a page waits for it as long as WithStoreTimeout
// says (30 s by default), however long the request may last, then shows
// what it could read: the health page its notices, the campaigns page the
// 503 page that loads itself again.
func TestPagesOnAHungStoreAnswerAtTheStoreTimeout(t *testing.T) {
	for _, c := range []struct {
		name string
		opts []Option
		want time.Duration
	}{
		{"default", nil, 30 * time.Second},
		{"WithStoreTimeout(5s)", []Option{WithStoreTimeout(5 * time.Second)}, 5 * time.Second},
	} {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := hungDashboard(t, c.opts...)
				rec, took := serveAt(h, t.Context(), "/health")
				if took != c.want {
					t.Errorf("the health page answered after %v, want %v", took, c.want)
				}
				checkOutagePage(t, body(t, rec, http.StatusOK))
				rec, took = serveAt(h, t.Context(), "/")
				if took != c.want {
					t.Errorf("the campaigns page answered after %v, want %v", took, c.want)
				}
				if page := body(t, rec, http.StatusServiceUnavailable); !strings.Contains(page, `http-equiv="refresh"`) {
					t.Errorf("the campaigns page does not load itself again:\n%s", page)
				}
			})
		})
	}
}

// WithStoreTimeout(0) leaves the reads to the request's context, which
// the host bounds.
func TestStoreTimeoutZeroWaitsForTheRequest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := hungDashboard(t, WithStoreTimeout(0))
		ctx, cancel := context.WithTimeout(t.Context(), 45*time.Second)
		defer cancel()
		rec, took := serveAt(h, ctx, "/health")
		if took != 45*time.Second {
			t.Errorf("answered after %v, want the request's 45 s", took)
		}
		checkOutagePage(t, body(t, rec, http.StatusOK))
	})
}

func TestStoreTimeoutRefusesANegativeDuration(t *testing.T) {
	if _, err := newHandler(populatedFake(), WithStoreTimeout(-time.Second)); err == nil || !strings.Contains(err.Error(), "store timeout") {
		t.Fatalf("newHandler(WithStoreTimeout(-1s)) = %v, want an invalid option naming it", err)
	}
}

// deadlineSpy is a memory store that records whether the context of the
// cancellation of a stopped campaign's deliveries had a deadline.
type deadlineSpy struct {
	*store.Memory
	deadline chan bool
}

func (s *deadlineSpy) CancelCampaign(ctx context.Context, ns, id string) ([]store.Claim, error) {
	_, ok := ctx.Deadline()
	s.deadline <- ok
	return s.Memory.CancelCampaign(ctx, ns, id)
}

func (s *deadlineSpy) CancelCampaignBatch(ctx context.Context, ns, id, cursor string, limit int) ([]store.Claim, string, error) {
	_, ok := ctx.Deadline()
	s.deadline <- ok
	return s.Memory.CancelCampaignBatch(ctx, ns, id, cursor, limit)
}

// An action is not bounded by the store timeout: a stop's cancellation of
// a million deliveries must not be cut short at 30 seconds.
func TestActionsAreNotBoundedByTheStoreTimeout(t *testing.T) {
	s := &deadlineSpy{Memory: store.NewMemory(), deadline: make(chan bool, 1)}
	_, h, _ := stopFixture(t, s)
	ck, token := startSession(t, h)
	form := url.Values{"op": {opStop}, "id": {"resend"}, "csrf": {token}}
	req := httptest.NewRequest(http.MethodPost, "/action", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(ck)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("status %d, want 303: %s", rec.Code, rec.Body)
	}
	if <-s.deadline {
		t.Error("the stop's cancellation had a deadline")
	}
}

// campaignsLocked is a hung outageStore whose revision still answers: a
// table another session holds locked, say.
type campaignsLocked struct{ outageStore }

func (s campaignsLocked) Revision(ctx context.Context, ns string) (int64, error) {
	return s.mem.Revision(ctx, ns)
}

// A page is not held past the store timeout by a rebuild of the engine's
// campaigns that another caller, with no such bound (Run's courier, an
// action, a host's Track), began when a campaign changed and whose read
// hangs.
func TestAPageIsNotHeldByAnotherCallersHungRead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := clock.NewMock()
		clk.Set(fixtureNow)
		s := campaignsLocked{hungOutage(clk)}
		e, err := connector.New(s, connector.SenderFunc(func(context.Context, connector.Delivery) error { return nil }),
			connector.WithClock(clk))
		if err != nil {
			t.Fatal(err)
		}
		h, err := New(e, quietLogger())
		if err != nil {
			t.Fatal(err)
		}
		// Another replica changes a campaign: the store's revision moves
		// past the engine's campaigns.
		if err := outageEngine(t, s.outageStore, clk).Save(t.Context(), rule.Campaign{ID: "news"}); err != nil {
			t.Fatal(err)
		}
		s.out.Store(true)
		long, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
		defer cancel()
		go func() { _, _ = e.Campaigns(long) }()
		synctest.Wait()
		rec, took := serveAt(h, t.Context(), "/")
		if took != 30*time.Second {
			t.Errorf("the campaigns page answered after %v, want 30s", took)
		}
		body(t, rec, http.StatusServiceUnavailable)
		rec, took = serveAt(h, t.Context(), "/health")
		if took != 30*time.Second {
			t.Errorf("the health page answered after %v, want 30s", took)
		}
		checkOutagePage(t, body(t, rec, http.StatusOK))
	})
}

// The health page on a hung store logs, as the docs quote it, its
// warnings' and sends' reads in the engine's words, and its store figures
// and clock, whose errors here do not name the read, once.
func TestHealthPageOnAHungStoreLogsTheLineTheDocsQuote(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var logged bytes.Buffer
		h := hungDashboard(t, WithLogger(slog.New(slog.NewTextHandler(&logged, nil))))
		serveAt(h, t.Context(), "/health")
		want := `error="context deadline exceeded (2 reads); connector: check: context deadline exceeded; ` +
			`connector: tallies: context deadline exceeded"`
		if lines := errorLines(&logged); len(lines) != 1 || !strings.Contains(lines[0], want) {
			t.Errorf("the log, want one line with %s:\n%s", want, logged.String())
		}
	})
}

// A client that leaves while the store hangs (a browser or a probe that
// gives up) ends the page's reads with context.Canceled: the line that
// logs them is at Warn, not Error, since no one reads the page and the
// client may have left for reasons of its own, nor Info, since the reads
// were still waiting for the store when it left, which an operator must
// see; a read that reached the store timeout first stays at Error.
func TestPageLeftByItsClientLogsAtWarn(t *testing.T) {
	for _, c := range []struct {
		name      string
		leave     time.Duration // when the client leaves
		wantLevel string
	}{
		{"the client leaves", 5 * time.Second, "level=WARN"},
		{"the store timeout first", 10 * time.Minute, "level=ERROR"},
	} {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var logged bytes.Buffer
				h := hungDashboard(t, WithLogger(slog.New(slog.NewTextHandler(&logged, nil))))
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				time.AfterFunc(c.leave, cancel)
				for _, target := range []string{"/", "/health"} {
					logged.Reset()
					serveAt(h, ctx, target)
					lines := slices.Collect(strings.Lines(logged.String()))
					if len(lines) != 1 || !strings.Contains(lines[0], c.wantLevel) {
						t.Errorf("%s: the log, want one line at %s:\n%s", target, c.wantLevel, logged.String())
					}
				}
			})
		})
	}
}
