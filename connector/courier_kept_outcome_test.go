package connector_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// outage is a memory store whose updates fail while it is down, as a
// store out of reach does; its claims still answer (a database whose
// writes time out while its reads go through, or one back in time for
// the next Tick's claim).
type outage struct {
	*store.Memory
	down  atomic.Bool
	blips atomic.Int32 // updates to fail, up or down
}

func (s *outage) Update(ctx context.Context, ns, userID string, now time.Time, dedup store.Dedup, fn func(*store.UserState, bool)) error {
	if s.down.Load() || s.blips.Add(-1) >= 0 {
		return errOutOfReach
	}
	return s.Memory.Update(ctx, ns, userID, now, dedup, fn)
}

func (s *outage) UpdateBatch(ctx context.Context, ns string, ops []store.Op) error {
	return updateEach(ctx, ns, ops, s.Update)
}

// sendLog is a sender that records each delivery it gets, answers with
// answer (nil: accepted) and, if set, calls during first.
type sendLog struct {
	mu     sync.Mutex
	got    []connector.Delivery
	answer error
	during func() // called in each send, before it answers
}

func (l *sendLog) Send(_ context.Context, d connector.Delivery) error {
	l.mu.Lock()
	l.got = append(l.got, d)
	during := l.during
	l.mu.Unlock()
	if during != nil {
		during()
	}
	return l.answer
}

func (l *sendLog) sends() []connector.Delivery {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]connector.Delivery(nil), l.got...)
}

// keptEngine returns an engine on s that sends through send, with clk,
// one send slot and observer o, whose follow-up "now" of campaign "o" is
// due at once for u1.
func keptEngine(t *testing.T, s store.Store, send connector.Sender, clk *clock.Mock, o *outcomes, opts ...connector.Option) *connector.Engine {
	t.Helper()
	opts = append([]connector.Option{connector.WithClock(clk), connector.WithSendConcurrency(1),
		connector.WithObserver(connector.ObserverFunc(o.observe))}, opts...)
	e := nowEngine(t, s, send, opts...)
	require.NoError(t, e.Track(context.Background(), pushOpened))
	return e
}

// pushOpened is u1's push opened of campaign "o": the trigger of
// nowEngine's follow-up.
var pushOpened = event.Event{ID: "e1", UserID: "u1", Kind: event.PushOpened, CampaignID: "o"}

// nowEngine returns an engine on s that sends through send, with opts,
// whose follow-up "now" is due as soon as a push of campaign "o" is
// opened (pushOpened).
func nowEngine(t *testing.T, s store.Store, send connector.Sender, opts ...connector.Option) *connector.Engine {
	t.Helper()
	e, err := connector.New(s, send, opts...)
	require.NoError(t, err)
	require.NoError(t, e.Apply(context.Background(), []rule.Campaign{
		{ID: "o"},
		{ID: "now", Triggers: []rule.Trigger{{Kind: event.PushOpened, CampaignID: "o"}}},
	}))
	return e
}

// loseRecord ticks e, whose sends go through l, with s going down during
// the send and staying down past the delivery's lease, so that the Tick
// gives up its record; s is then back. It returns the delivery sent.
func loseRecord(t *testing.T, e *connector.Engine, clk *clock.Mock, s *outage, l *sendLog) connector.Delivery {
	t.Helper()
	l.during = func() { s.down.Store(true) }
	_, err := tickSettled(e, clk, time.Second)
	require.ErrorIs(t, err, errOutOfReach)
	require.ErrorContains(t, err, "recording delivery")
	got := l.sends()
	require.Len(t, got, 1)
	l.during = nil
	s.down.Store(false)
	return got[0]
}

// lostRecord sends u1's delivery on an engine whose store goes down
// during the send and stays down past the delivery's lease, so that the
// Tick gives up its record; the store is then back. It returns the engine,
// its clock, store, sender and observed outcomes, and the delivery sent.
func lostRecord(t *testing.T, answer error, opts ...connector.Option) (*connector.Engine, *clock.Mock, *outage, *sendLog, *outcomes, connector.Delivery) {
	t.Helper()
	clk := clock.NewMock()
	s := &outage{Memory: store.NewMemory()}
	l := &sendLog{answer: answer}
	o := &outcomes{}
	e := keptEngine(t, s, l, clk, o, opts...)
	return e, clk, s, l, o, loseRecord(t, e, clk, s, l)
}

// TestARecordTheStoreNeverTookIsStoredByTheNextTick: the store fails
// every call recording a send that went through until the delivery's
// lease ran out. The engine's next Tick stores that send's outcome, with
// the time the send returned, rather than send the delivery again.
func TestARecordTheStoreNeverTookIsStoredByTheNextTick(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, clk, s, l, o, d := lostRecord(t, nil)
		require.Empty(t, o.of(d.ID), "the outcome was observed before it was stored")
		sentAt := clk.Now() // the record's retries end as the lease does; the send returned before

		clk.Add(time.Minute) // past the lease
		tickSendsNoMore(t, e, clk, l, "the delivery was sent again")
		require.Equal(t, []rule.DecisionKind{rule.Delivered}, o.of(d.ID))
		u, err := s.User(context.Background(), "", "u1")
		require.NoError(t, err)
		require.Empty(t, u.Pending)
		r, ok := u.Receipt(d.CampaignID)
		require.True(t, ok)
		require.True(t, r.At.Before(sentAt), "the receipt is dated %v, after the send returned", r.At)
		require.Equal(t, int64(1), tallied(t, e, d.CampaignID, rule.Delivered))

		tickSendsNoMore(t, e, clk, l, "the delivery was sent again")
	})
}

// TestAFailedSendWhoseRecordWasLostIsRetriedAtItsTime: the lost record is
// of a send the provider refused. The next claim stores the retry that
// send's record would have stored, due at its backoff, and sends nothing
// before then; the retry then sends attempt 2.
func TestAFailedSendWhoseRecordWasLostIsRetriedAtItsTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, clk, s, l, o, d := lostRecord(t, errors.New("the provider refused"),
			connector.WithRetryPolicy(connector.RetryPolicy{MaxAttempts: 3, Base: time.Hour, Max: time.Hour}))
		clk.Add(time.Minute)
		tickSendsNoMore(t, e, clk, l, "attempt 1 was sent again")
		require.Equal(t, []rule.DecisionKind{rule.Retried}, o.of(d.ID))
		u, err := s.User(context.Background(), "", "u1")
		require.NoError(t, err)
		require.Len(t, u.Pending, 1)
		p := u.Pending[0]
		require.False(t, p.Sending)
		require.Equal(t, 1, p.Attempt)
		require.True(t, p.ReadyAt.After(clk.Now().Add(50*time.Minute)), "the retry is due at %v", p.ReadyAt)

		l.answer = nil
		clk.Add(time.Hour)
		n, err := tickSettled(e, clk, time.Second)
		require.NoError(t, err)
		require.Equal(t, 1, n)
		got := l.sends()
		require.Len(t, got, 2)
		require.Equal(t, 2, got[1].Attempt)
	})
}

// TestASendThatWentThroughWinsOverAnExceptionDuringIt: an exception
// arrives during a send that goes through, whose record is then lost. A
// claim that knew nothing of the send would cancel the delivery (the send
// may never have gone out); the engine that sent it records it delivered.
func TestASendThatWentThroughWinsOverAnExceptionDuringIt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := clock.NewMock()
		s := &outage{Memory: store.NewMemory()}
		o := &outcomes{}
		l := &sendLog{}
		e, err := connector.New(s, l, connector.WithClock(clk), connector.WithSendConcurrency(1),
			connector.WithObserver(connector.ObserverFunc(o.observe)))
		require.NoError(t, err)
		ctx := context.Background()
		require.NoError(t, e.Apply(ctx, []rule.Campaign{
			{ID: "cart"},
			{ID: "reminder", Triggers: []rule.Trigger{{Kind: event.PushReceived, CampaignID: "cart"}},
				Delay: rule.After(time.Hour), Exceptions: []rule.Exception{{Kind: event.Purchase}}},
		}))
		require.NoError(t, e.Track(ctx, event.Event{ID: "p1", UserID: "ann", Kind: event.PushReceived, CampaignID: "cart"}))
		l.during = func() {
			require.NoError(t, e.Track(ctx, event.Event{ID: "b1", UserID: "ann", Kind: event.Purchase}))
			s.down.Store(true)
		}
		clk.Add(time.Hour)
		_, err = tickSettled(e, clk, time.Second)
		require.ErrorIs(t, err, errOutOfReach)
		l.during = nil
		s.down.Store(false)

		clk.Add(time.Minute)
		_, err = tickSettled(e, clk, time.Second)
		require.NoError(t, err)
		got := l.sends()
		require.Len(t, got, 1)
		// The purchase came too late to stop the send (it is ignored);
		// the delivery is not cancelled after it.
		require.Equal(t, []rule.DecisionKind{rule.Ignored, rule.Delivered}, o.of(got[0].ID))
		u, err := s.User(ctx, "", "ann")
		require.NoError(t, err)
		require.Empty(t, u.Pending)
		_, ok := u.Receipt("reminder")
		require.True(t, ok)
	})
}

// TestAKeptOutcomeOfAnEarlierAttemptIsNotRecorded: after this engine's
// record of attempt 1 was lost, another engine confirmed attempt 2 and
// died during it. The kept outcome is not that attempt's. Tried before
// the Tick's claim, it is told as taken over; found by the claim (that
// try failed), it is dropped. Either way the claim after the other
// engine's lease sends attempt 3, as any engine would.
func TestAKeptOutcomeOfAnEarlierAttemptIsNotRecorded(t *testing.T) {
	for _, tc := range []struct {
		name     string
		blips    int32
		observed []rule.DecisionKind
	}{
		{"tried first", 0, []rule.DecisionKind{rule.Retried, rule.Delivered}},
		{"found by the claim", 1, []rule.DecisionKind{rule.Delivered}},
	} {
		t.Run(tc.name, func(t *testing.T) { earlierAttempt(t, tc.blips, tc.observed) })
	}
}

func earlierAttempt(t *testing.T, blips int32, observed []rule.DecisionKind) {
	synctest.Test(t, func(t *testing.T) {
		e, clk, s, l, o, d := lostRecord(t, errors.New("the provider refused"),
			connector.WithRetryPolicy(connector.RetryPolicy{MaxAttempts: 5, Base: time.Hour, Max: time.Hour}))
		clk.Add(time.Minute)
		require.NoError(t, s.Memory.Update(context.Background(), "", "u1", clk.Now(), store.Dedup{}, func(u *store.UserState, _ bool) {
			require.Len(t, u.Pending, 1)
			p := u.Pending[0]
			require.True(t, p.Sending)
			require.Equal(t, 1, p.Attempt)
			p.Attempt, p.Token, p.ReadyAt = 2, 42, clk.Now().Add(time.Minute)
		}))
		clk.Add(2 * time.Minute) // past the other engine's lease
		l.answer = nil
		s.blips.Store(blips)
		n, err := tickSettled(e, clk, time.Second)
		require.NoError(t, err)
		require.Equal(t, 1, n)
		got := l.sends()
		require.Len(t, got, 2)
		require.Equal(t, 3, got[1].Attempt)
		require.Equal(t, observed, o.of(d.ID))
		if taken := o.all()[0]; taken.Kind == rule.Retried {
			require.Equal(t, 1, taken.Attempt)
			require.Contains(t, taken.Detail, "another engine took the delivery")
		}
	})
}

// TestAKeptOutcomeWhoseRecordFailsAgainIsKeptAgain: the store is down
// again when the next claim records the kept outcome. The outcome is kept
// once more, and the claim after that records it: the delivery is still
// sent once.
func TestAKeptOutcomeWhoseRecordFailsAgainIsKeptAgain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, clk, s, l, o, d := lostRecord(t, nil)
		s.down.Store(true)
		clk.Add(time.Minute)
		_, err := tickSettled(e, clk, time.Second)
		require.ErrorIs(t, err, errOutOfReach)
		require.ErrorContains(t, err, "recording delivery")
		s.down.Store(false)
		require.Empty(t, o.of(d.ID))

		clk.Add(time.Minute)
		tickSendsNoMore(t, e, clk, l, "the delivery was sent again")
		require.Equal(t, []rule.DecisionKind{rule.Delivered}, o.of(d.ID))
	})
}

// tickSendsNoMore runs a Tick of e that sends nothing: l still holds its
// one send; why says what a second would mean.
func tickSendsNoMore(t *testing.T, e *connector.Engine, clk *clock.Mock, l *sendLog, why string) {
	t.Helper()
	n, err := tickSettled(e, clk, time.Second)
	require.NoError(t, err)
	require.Zero(t, n)
	require.Len(t, l.sends(), 1, why)
}

// gatedDirectory waits, once gated, for open, after it signals entered
// (a waitDirectory of its wait).
type gatedDirectory struct {
	gated   atomic.Bool
	entered chan struct{}
	open    chan struct{}
}

func (d *gatedDirectory) wait() {
	if d.gated.Load() {
		d.entered <- struct{}{}
		<-d.open
	}
}

// TestAKeptOutcomeIsRecordedBeforeAnotherEngineSendsAgain: engine A's
// record of a send was lost; once the store answers, engine B claims the
// delivery first and waits for its directory before its last check. A's
// next Tick stores the kept record under the claim that sent it: B's last
// check then finds the delivery delivered, and B sends nothing.
func TestAKeptOutcomeIsRecordedBeforeAnotherEngineSendsAgain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := clock.NewMock()
		s := &outage{Memory: store.NewMemory()}
		l := &sendLog{}
		o := &outcomes{}
		dirB := &gatedDirectory{entered: make(chan struct{}, 1), open: make(chan struct{})}
		a, err := connector.New(s, l, connector.WithClock(clk), connector.WithSendConcurrency(1),
			connector.WithDirectory(waitDirectory(func() {})), connector.WithObserver(connector.ObserverFunc(o.observe)))
		require.NoError(t, err)
		b, err := connector.New(s, l, connector.WithClock(clk), connector.WithSendConcurrency(1),
			connector.WithDirectory(waitDirectory(dirB.wait)), connector.WithObserver(connector.ObserverFunc(o.observe)))
		require.NoError(t, err)
		ctx := context.Background()
		require.NoError(t, a.Apply(ctx, []rule.Campaign{
			{ID: "o"},
			{ID: "now", Triggers: []rule.Trigger{{Kind: event.PushOpened, CampaignID: "o"}},
				SendWindow: &rule.SendWindow{From: rule.At(0, 0), To: rule.At(23, 59)}}, // the window needs the user's zone
		}))
		require.NoError(t, a.Track(ctx, event.Event{ID: "e1", UserID: "u1", Kind: event.PushOpened, CampaignID: "o"}))
		clk.Add(time.Minute) // inside the window
		l.during = func() { s.down.Store(true) }
		_, err = tickSettled(a, clk, time.Second)
		require.ErrorIs(t, err, errOutOfReach)
		l.during = nil
		s.down.Store(false)
		require.Len(t, l.sends(), 1)
		id := l.sends()[0].ID

		clk.Add(time.Minute) // past the lease
		dirB.gated.Store(true)
		bDone := make(chan error, 1)
		go func() {
			_, err := b.Tick(ctx)
			bDone <- err
		}()
		<-dirB.entered // B holds the claim, before its last check
		n, err := tickSettled(a, clk, time.Second)
		require.NoError(t, err)
		require.Zero(t, n)
		dirB.gated.Store(false)
		close(dirB.open)
		require.NoError(t, <-bDone)
		require.Len(t, l.sends(), 1, "engine B sent the delivery again")
		require.Equal(t, []rule.DecisionKind{rule.Delivered}, o.of(id))
		u, err := s.User(ctx, "", "u1")
		require.NoError(t, err)
		require.Empty(t, u.Pending)
	})
}

// TestAKeptOutcomeIsRecordedByTheClaimWhenItsFirstTryFails: the Tick's
// first try of the kept record fails (the store blips), and its claim of
// the delivery gets through: the claim records the kept outcome rather
// than send the delivery again.
func TestAKeptOutcomeIsRecordedByTheClaimWhenItsFirstTryFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, clk, s, l, o, d := lostRecord(t, nil)
		s.blips.Store(1)
		clk.Add(time.Minute)
		n, err := tickSettled(e, clk, time.Second)
		require.NoError(t, err)
		require.Zero(t, n)
		require.Less(t, s.blips.Load(), int32(0), "no update failed")
		require.Len(t, l.sends(), 1, "the delivery was sent again")
		require.Equal(t, []rule.DecisionKind{rule.Delivered}, o.of(d.ID))
	})
}

// TestAKeptRecordWhoseTryPanicsIsTriedAgain: the store panics in the
// Tick's try of a kept record, and the host recovers the Tick's panic.
// The outcome is still kept, not left as being recorded: the next Tick
// stores it, and the delivery is not sent again.
func TestAKeptRecordWhoseTryPanicsIsTriedAgain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := clock.NewMock()
		s := &panicsOnce{outage: &outage{Memory: store.NewMemory()}}
		l := &sendLog{}
		o := &outcomes{}
		e := keptEngine(t, s, l, clk, o)
		d := loseRecord(t, e, clk, s.outage, l)

		clk.Add(time.Minute) // past the lease
		s.armed.Store(true)
		func() {
			defer func() { require.Equal(t, "the store's driver panicked", recover()) }()
			_, _ = e.Tick(context.Background())
		}()
		require.Empty(t, o.of(d.ID))

		for range 3 {
			clk.Add(time.Second)
			_, err := tickSettled(e, clk, time.Second)
			require.NoError(t, err)
		}
		require.Len(t, l.sends(), 1, "the delivery was sent again")
		require.Equal(t, []rule.DecisionKind{rule.Delivered}, o.of(d.ID), "the kept outcome was never stored")
	})
}

// panicsOnce is an outage store whose next update, once armed, panics.
type panicsOnce struct {
	*outage
	armed atomic.Bool
}

func (s *panicsOnce) Update(ctx context.Context, ns, userID string, now time.Time, dedup store.Dedup, fn func(*store.UserState, bool)) error {
	if s.armed.CompareAndSwap(true, false) {
		panic("the store's driver panicked")
	}
	return s.outage.Update(ctx, ns, userID, now, dedup, fn)
}

func (s *panicsOnce) UpdateBatch(ctx context.Context, ns string, ops []store.Op) error {
	return updateEach(ctx, ns, ops, s.Update)
}
