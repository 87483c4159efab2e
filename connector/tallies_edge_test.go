package connector_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/stretchr/testify/require"
)

// TestRunFlushesTalliesAfterTheClockStepsBack checks that Run's flusher
// keeps flushing within seconds when the clock steps back across an hour
// boundary after a flush, rather than waiting for the clock to catch up
// with the time of that flush.
func TestRunFlushesTalliesAfterTheClockStepsBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		clk := clock.NewMock()
		clk.Set(time.Date(2026, 3, 2, 10, 59, 0, 0, time.UTC))
		s := &countingTallier{Memory: store.NewMemory()}
		e := tallyEngine(t, s, connector.WithClock(clk))
		done := make(chan error, 1)
		go func() { done <- e.Run(ctx) }()
		defer func() {
			cancel()
			require.NoError(t, <-done)
		}()
		synctest.Wait()
		clk.Add(70 * time.Second)
		synctest.Wait()
		require.NoError(t, e.Track(ctx, received("u1")))
		synctest.Wait()
		clk.Add(5 * time.Second)
		synctest.Wait()
		require.Equal(t, int64(1), scheduledCount(storedTallies(t, s)), "flushed within 5 s")
		// The flusher is idle again, its timer (if it took one) gone off:
		// the mock clock's timers, unlike real ones, would wait for the
		// clock to catch up after it steps back.
		clk.Add(5 * time.Second)
		synctest.Wait()

		clk.Set(time.Date(2026, 3, 2, 10, 59, 30, 0, time.UTC)) // 50 s back, into the previous hour
		synctest.Wait()
		// An opening before the trigger: a decision to count that wakes
		// no one, as it schedules nothing.
		require.NoError(t, e.Track(ctx, event.Event{UserID: "u1", Kind: event.EmailOpened, CampaignID: "news"}))
		synctest.Wait()
		clk.Add(5 * time.Second)
		synctest.Wait()
		require.Equal(t, []string{"resend ignored before_trigger ×1", "resend scheduled ×1"}, tallyWords(storedTallies(t, s)), // in hour order
			"flushed within 5 s of the clock's new time")
	})
}

// TestTallyOfALongExceptionIsBounded checks that a cancellation by an
// exception with a long condition is counted under a name of bounded
// length that still tells two such exceptions apart, so that every store
// can key the tally.
func TestTallyOfALongExceptionIsBounded(t *testing.T) {
	ctx := context.Background()
	s := store.NewMemory()
	e, err := connector.New(s, nopSender, connector.WithSendConcurrency(1))
	require.NoError(t, err)
	skus := func(from int) []any {
		out := make([]any, 400)
		for i := range out {
			out[i] = fmt.Sprintf("sku-%06d", i)
		}
		out[len(out)-1] = fmt.Sprintf("sku-é-%d", from) // the two lists differ only at their end
		return out
	}
	require.NoError(t, e.Save(ctx, rule.Campaign{ID: "news"}))
	require.NoError(t, e.Save(ctx, rule.Campaign{ID: "resend", Delay: rule.After(time.Hour),
		Triggers: []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "news"}},
		Exceptions: []rule.Exception{
			{Kind: event.Purchase, Where: []rule.Condition{{Property: "sku", Op: rule.OpOneOf, Value: skus(1)}}},
			{Kind: event.Purchase, Where: []rule.Condition{{Property: "sku", Op: rule.OpOneOf, Value: skus(2)}}},
		}}))
	require.NoError(t, e.Publish(ctx, "resend"))
	require.NoError(t, e.Publish(ctx, "news"))
	for i, sku := range []string{"sku-é-1", "sku-é-2", "sku-é-2"} {
		user := fmt.Sprint("u", i)
		require.NoError(t, e.Track(ctx, event.Event{UserID: user, Kind: event.EmailReceived, CampaignID: "news"}))
		require.NoError(t, e.Track(ctx, event.Event{UserID: user, Kind: event.Purchase, Properties: map[string]any{"sku": sku}}))
	}
	got, err := e.Tallies(ctx, store.TallyQuery{})
	require.NoError(t, err)
	var counts []int64
	rules := map[string]bool{}
	for _, x := range got {
		if x.Kind != rule.Cancelled {
			continue
		}
		counts = append(counts, x.Count)
		rules[x.Rule] = true
		require.LessOrEqual(t, len(x.Rule), 512, "the exception's name in the tallies")
		require.True(t, strings.HasPrefix(x.Rule, `purchase where sku in ["sku-000000",`), x.Rule)
	}
	require.Len(t, rules, 2, "two exceptions, two names")
	require.ElementsMatch(t, []int64{1, 2}, counts)
}

// tallyWords writes tallies as "campaign kind reason ×count", in the
// store's order.
func tallyWords(ts []store.Tally) []string {
	out := make([]string, len(ts))
	for i, x := range ts {
		out[i] = strings.TrimSpace(fmt.Sprintf("%s %s %s", x.CampaignID, x.Kind, x.Reason))
		out[i] = strings.ReplaceAll(out[i], "  ", " ") + fmt.Sprintf(" ×%d", x.Count)
	}
	return out
}

// stallingTallier is a memory store whose first AddTallies once armed
// waits until release is closed.
type stallingTallier struct {
	*store.Memory
	armed   atomic.Bool
	entered chan struct{}
	release chan struct{}
}

func (s *stallingTallier) AddTallies(ctx context.Context, ns string, ts []store.Tally) error {
	if s.armed.CompareAndSwap(true, false) {
		close(s.entered)
		<-s.release
	}
	return s.Memory.AddTallies(ctx, ns, ts)
}

// TestTickDoesNotWaitForASlowTallyFlush checks that Tick sends what is
// due while another flush of the tallies (a dashboard's read, Run's
// flusher) waits on a slow store: the tallies are no reason to hold back
// a delivery.
func TestTickDoesNotWaitForASlowTallyFlush(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewMock()
	s := &stallingTallier{Memory: store.NewMemory(), entered: make(chan struct{}), release: make(chan struct{})}
	sent := make(chan struct{})
	e, err := connector.New(s, connector.SenderFunc(func(context.Context, connector.Delivery) error {
		close(sent)
		// The flush may go on once the delivery is out: should Tick wait
		// for it, both wait for each other and the test hangs.
		close(s.release)
		return nil
	}), connector.WithClock(clk), connector.WithSendConcurrency(1))
	require.NoError(t, err)
	require.NoError(t, e.Save(ctx, rule.Campaign{ID: "news"}))
	require.NoError(t, e.Save(ctx, rule.Campaign{ID: "resend", Delay: rule.After(time.Hour),
		Triggers: []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "news"}}}))
	require.NoError(t, e.Publish(ctx, "resend"))
	require.NoError(t, e.Publish(ctx, "news"))
	require.NoError(t, e.Track(ctx, received("u1")))
	clk.Add(time.Hour)

	s.armed.Store(true)
	read := make(chan error, 1)
	go func() {
		_, err := e.Tallies(ctx, store.TallyQuery{})
		read <- err
	}()
	<-s.entered // the read's flush waits on the store
	n, err := e.Tick(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	<-sent
	require.NoError(t, <-read)
	got := storedTallies(t, s)
	require.Equal(t, []string{"resend scheduled ×1"}, tallyWords(got[:1]))
}

// lateReplyTallier is a memory store whose AddTallies, once armed, adds
// the counts, then waits for the reply to be let through (reply closed),
// and fails with the caller's context error should that end first: a
// store that committed while its caller gave up.
type lateReplyTallier struct {
	*store.Memory
	armed   atomic.Bool
	entered chan struct{}
	reply   chan struct{}
}

func newLateReplyTallier() *lateReplyTallier {
	return &lateReplyTallier{Memory: store.NewMemory(), entered: make(chan struct{}), reply: make(chan struct{})}
}

func (s *lateReplyTallier) AddTallies(ctx context.Context, ns string, ts []store.Tally) error {
	if err := s.Memory.AddTallies(ctx, ns, ts); err != nil || !s.armed.CompareAndSwap(true, false) {
		return err
	}
	close(s.entered)
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-s.reply:
		return nil
	}
}

// TestADashboardLeavingMidFlushDoesNotCountTwice checks that a read of
// the tallies whose caller gives up (a browser leaving the page) while
// the store adds the engine's counts does not leave those counts to be
// added again.
func TestADashboardLeavingMidFlushDoesNotCountTwice(t *testing.T) {
	s := newLateReplyTallier()
	e := tallyEngine(t, s, mockClock())
	ctx := context.Background()
	require.NoError(t, e.Track(ctx, received("u1")))
	s.armed.Store(true)
	req, leave := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = e.Tallies(req, store.TallyQuery{}) // the reader is gone: what it gets does not matter
	}()
	<-s.entered
	leave()
	close(s.reply)
	<-done
	got, err := e.Tallies(ctx, store.TallyQuery{})
	require.NoError(t, err)
	require.Equal(t, int64(1), scheduledCount(got))
}

// TestRunStoppingMidFlushDoesNotCountTwice checks that counts the store
// added while Run's context ended are not added again as Run returns.
func TestRunStoppingMidFlushDoesNotCountTwice(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newLateReplyTallier()
		e := tallyEngine(t, s, connector.WithClock(clock.New()))
		ctx, stop := context.WithCancel(context.Background())
		s.armed.Store(true)
		done := make(chan error, 1)
		go func() { done <- e.Run(ctx) }()
		synctest.Wait()
		require.NoError(t, e.Track(context.Background(), received("u1")))
		time.Sleep(5 * time.Second) // Run's flusher flushes within 5 s
		<-s.entered
		stop()
		close(s.reply)
		require.NoError(t, <-done)
		require.Equal(t, int64(1), scheduledCount(storedTallies(t, s)))
	})
}
