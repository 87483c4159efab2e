package dashboard

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/campaignconnector/campaignconnector/store"
)

// countedStats is a fake source whose Stats counts its calls, answers
// with users (or err), and, when hold is set, waits until it is closed or
// its context ends. Its clock is a mock.
type countedStats struct {
	*fakeSource
	clk *clock.Mock

	mu    sync.Mutex
	calls int
	users int64
	err   error
	hold  chan struct{}
}

func newCountedStats() *countedStats {
	clk := clock.NewMock()
	clk.Set(fixtureNow)
	return &countedStats{fakeSource: newFake(fixtureNow), clk: clk, users: 7}
}

func (c *countedStats) Now() time.Time { return c.clk.Now() }

func (c *countedStats) Stats(ctx context.Context) (store.Stats, error) {
	c.mu.Lock()
	c.calls++
	users, err, hold := c.users, c.err, c.hold
	c.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-ctx.Done():
			return store.Stats{}, ctx.Err()
		}
	}
	if err != nil {
		return store.Stats{}, err
	}
	return store.Stats{Users: users, Pending: 2 * users}, nil
}

// set changes what Stats answers from its next call on.
func (c *countedStats) set(users int64, err error, hold chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.users, c.err, c.hold = users, err, hold
}

func (c *countedStats) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls
}

// statsReadLine returns the health page's statement of when its figures were
// read, on one line.
func statsReadLine(t *testing.T, page string) string {
	t.Helper()
	return oneLine(section(t, page, "data-stats-read", "</p>"))
}

// Views of the health page within 30 s of a read of the store's figures
// show that read's figures and say how old they are; the first view after
// makes a new read.
func TestHealthPageReusesTheStoreFiguresFor30Seconds(t *testing.T) {
	src := newCountedStats()
	h := mustHandler(t, src)
	page := body(t, get(t, h, "/health"), http.StatusOK)
	if n := number(t, page, `data-stat="Users"`); n != 7 {
		t.Fatalf("users %d, want 7", n)
	}
	if line := statsReadLine(t, page); !strings.Contains(line, "less than a second before this page") ||
		!strings.Contains(line, "for 30 seconds") {
		t.Errorf("the page says %q", line)
	}
	src.set(8, nil, nil)
	for _, d := range []time.Duration{10 * time.Second, 10 * time.Second, 9*time.Second + 999*time.Millisecond} {
		src.clk.Add(d)
		page = body(t, get(t, h, "/health"), http.StatusOK)
		if n := number(t, page, `data-stat="Users"`); n != 7 {
			t.Fatalf("at %v: users %d, want the 7 read at first", src.clk.Now().Sub(fixtureNow), n)
		}
	}
	if n := src.count(); n != 1 {
		t.Fatalf("%d Stats calls for 4 views within 30 s, want 1", n)
	}
	if line := statsReadLine(t, page); !strings.Contains(line, "29 seconds before this page") {
		t.Errorf("the page says %q, want 29 seconds", line)
	}
	src.clk.Add(time.Millisecond)
	page = body(t, get(t, h, "/health"), http.StatusOK)
	if n := src.count(); n != 2 {
		t.Fatalf("%d Stats calls after 30 s, want 2", n)
	}
	if n := number(t, page, `data-stat="Users"`); n != 8 {
		t.Errorf("users %d, want the 8 of the new read", n)
	}
	if line := statsReadLine(t, page); !strings.Contains(line, "less than a second before this page") {
		t.Errorf("the page says %q", line)
	}
}

// A failed read is not kept: the next view reads again, and the page
// shows no figures until a read works.
func TestHealthPageReadsAgainAfterAFailedRead(t *testing.T) {
	src := newCountedStats()
	h := mustHandler(t, src)
	src.set(7, errors.New("the store is down"), nil)
	for i := range 2 {
		page := body(t, get(t, h, "/health"), http.StatusOK)
		if !strings.Contains(page, `data-note="stats"`) || strings.Contains(page, `data-stat="Users"`) {
			t.Fatalf("view %d: no notice in place of the figures", i)
		}
		if strings.Contains(page, "data-stats-read") {
			t.Errorf("view %d says when figures it does not show were read", i)
		}
		if n := src.count(); n != i+1 {
			t.Fatalf("view %d: %d Stats calls, want %d", i, n, i+1)
		}
	}
	src.set(7, nil, nil)
	page := body(t, get(t, h, "/health"), http.StatusOK)
	if n := number(t, page, `data-stat="Users"`); n != 7 || src.count() != 3 {
		t.Fatalf("users %d after %d calls, want 7 after 3", n, src.count())
	}
	body(t, get(t, h, "/health"), http.StatusOK)
	if n := src.count(); n != 3 {
		t.Errorf("%d Stats calls, want the working read reused", n)
	}
}

// Views that come while a read is in flight wait for it and show its
// figures: one Stats call for all of them.
func TestConcurrentHealthViewsShareOneRead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := newCountedStats()
		h := mustHandler(t, src)
		hold := make(chan struct{})
		src.set(7, nil, hold)
		const views = 5
		recs := make([]*httptest.ResponseRecorder, views)
		var wg sync.WaitGroup
		for i := range views {
			recs[i] = httptest.NewRecorder()
			wg.Go(func() { h.ServeHTTP(recs[i], httptest.NewRequest(http.MethodGet, "/health", nil)) })
		}
		synctest.Wait()
		if n := src.count(); n != 1 {
			t.Errorf("%d Stats calls in flight for %d views, want 1", n, views)
		}
		close(hold)
		wg.Wait()
		for i, rec := range recs {
			if n := number(t, body(t, rec, http.StatusOK), `data-stat="Users"`); n != 7 {
				t.Errorf("view %d: users %d, want 7", i, n)
			}
		}
		if n := src.count(); n != 1 {
			t.Errorf("%d Stats calls, want 1", n)
		}
	})
}

// A view waiting for another's read does not fail when the reading view's
// client leaves: it reads again, with its own context. One whose own
// client leaves stops waiting.
func TestHealthViewReadsAgainWhenTheReadingClientLeaves(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := newCountedStats()
		h := mustHandler(t, src)
		hold := make(chan struct{})
		src.set(7, nil, hold)
		leaving, leave := context.WithCancel(t.Context())
		go h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequestWithContext(leaving, http.MethodGet, "/health", nil))
		synctest.Wait()
		rec := httptest.NewRecorder()
		done := make(chan struct{})
		go func() {
			defer close(done)
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/health", nil))
		}()
		impatient, giveUp := context.WithCancel(t.Context())
		gaveUp := make(chan struct{})
		go func() {
			defer close(gaveUp)
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequestWithContext(impatient, http.MethodGet, "/health", nil))
		}()
		synctest.Wait()
		giveUp()
		synctest.Wait()
		select {
		case <-gaveUp:
		default:
			t.Fatal("a view whose client left still waits for another's read")
		}
		leave()
		synctest.Wait()
		if n := src.count(); n != 2 {
			t.Fatalf("%d Stats calls, want 2: the waiting view reads again", n)
		}
		close(hold)
		<-done
		if n := number(t, body(t, rec, http.StatusOK), `data-stat="Users"`); n != 7 {
			t.Errorf("users %d, want 7", n)
		}
	})
}

// When Stats panics, the views waiting for its read get an error, not
// figures of zero, and the next view reads again.
func TestSharedStatsPanicIsNoFigures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := &panickingStats{countedStats: newCountedStats(), hold: make(chan struct{})}
		var s sharedStats
		go func() {
			defer func() { _ = recover() }()
			_, _ = s.get(t.Context(), src)
		}()
		synctest.Wait()
		var err error
		done := make(chan struct{})
		go func() {
			defer close(done)
			_, err = s.get(t.Context(), src)
		}()
		synctest.Wait()
		close(src.hold)
		<-done
		if !errors.Is(err, errStatsPanicked) {
			t.Fatalf("the waiting view got %v, want errStatsPanicked", err)
		}
		read, err := s.get(t.Context(), src)
		if err != nil || read.Stats.Users != 7 {
			t.Errorf("after the panic: %+v, %v; want a new read of 7 users", read, err)
		}
	})
}

// panickingStats's first Stats call panics once hold is closed; the
// next ones are countedStats's.
type panickingStats struct {
	*countedStats
	hold chan struct{}
}

func (p *panickingStats) Stats(ctx context.Context) (store.Stats, error) {
	if p.hold != nil {
		<-p.hold
		p.hold = nil
		panic("the store's Stats panicked")
	}
	return p.countedStats.Stats(ctx)
}

// The engine's clock goes back an hour after a read, while the store is
// down: the view then fails, and when the clock comes back within 30 s of
// the first read, the views read again rather than show that read's
// figures as if they were seconds old, an hour and a failed read after it.
func TestHealthPageAfterAFailedReadAndAClockGoneBack(t *testing.T) {
	src := newCountedStats()
	h := mustHandler(t, src)
	page := body(t, get(t, h, "/health"), http.StatusOK)
	if n := number(t, page, `data-stat="Users"`); n != 7 {
		t.Fatalf("users %d, want 7", n)
	}
	src.set(8, errors.New("the store is down"), nil)
	src.clk.Set(fixtureNow.Add(-time.Hour))
	page = body(t, get(t, h, "/health"), http.StatusOK)
	if !strings.Contains(page, `data-note="stats"`) {
		t.Fatal("no notice with the clock gone back and the store down")
	}
	src.clk.Set(fixtureNow.Add(10 * time.Second))
	page = body(t, get(t, h, "/health"), http.StatusOK)
	if n := src.count(); n != 3 {
		t.Errorf("%d Stats calls, want 3: the view after the failed read reads again", n)
	}
	if !strings.Contains(page, `data-note="stats"`) || strings.Contains(page, `data-stat="Users"`) {
		t.Error("the page shows the figures read before the failed read, not the notice")
	}
}
