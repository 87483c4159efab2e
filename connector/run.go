package connector

import (
	"context"
	"time"

	"github.com/campaignconnector/campaignconnector/store"
)

// Run sends deliveries as they fall due until ctx ends, then returns nil.
// It keeps a single timer armed for the earliest due time (never one timer
// per delivery), at most a minute ahead, so that a step of the wall clock
// delays nothing by more than a minute; it is woken at once when Track
// schedules something earlier, and, on stores that implement
// [store.Notifier], when another engine does; on other stores it also
// looks every poll interval ([WithPollInterval]). With nothing pending it
// sleeps until woken.
//
// Run sends what falls due while other sends are in progress, on the send
// slots they leave free ([WithSendConcurrency]): a send that takes long (a
// provider that answers only at the send timeout) holds its own slot and
// nothing else. The sends in progress never outnumber the slots; with
// every slot sending, what falls due goes out as soon as one comes free,
// and with one slot, one send at a time, in the order Tick sends them
// ([WithSendConcurrency]).
//
// Store errors do not stop Run: it logs them ([WithLogger]) and tries
// again after 100 ms, then after twice as long each time the store fails
// again, up to 2 s (each wait shortened by up to a fifth, at random, so
// that engines sharing a store do not retry in step); the first success
// resets the wait. An outage of the store therefore delays deliveries by
// its length plus at most about 2 s, except those a Tick had claimed as
// it began: their give-back is a write, which fails with the store, and
// they go when their lease ends. The store errors of Run's Ticks count as
// its own: a store whose claims work while the checks that follow fail
// gets the same growing wait between Ticks, not one Tick after another; a
// Tick that sent before its error (a later claim of its failed) is
// logged, and followed by the first, 100 ms wait. A delivery due that
// Claim does not hand out (another engine holds it) gets the same growing
// pause, or less when Run is woken, rather than a tight loop of claims.
// So does a store whose Claim hands out deliveries it did not lease to
// the claim (each is skipped, unsent; a Tick stops claiming after a few
// batches of them): after two Ticks in a row whose claims all came to
// nothing, Run waits before each Tick, 100 ms at first, twice as long
// each time, up to a minute, and logs it at Error once; a single such
// Tick (a stop removed what it claimed) delays nothing.
//
// When ctx ends, Run claims, checks and starts no more sends, and gives
// the deliveries claimed but not started back to the store at once, for
// the next engine. Each send in progress finishes — the sender's context
// does not end with ctx, only with [WithSendTimeout] — and its outcome is
// recorded before Run returns (a store error while recording is retried
// until the delivery's lease ends, but for [store.ErrClosed]; a store call
// that does not answer within a lease fails; a record that fails is
// logged, and its outcome kept for the engine's next Tick or Run to
// store, as Tick does; Run returning with such outcomes, or unwinding
// with a Tick's panic, logs at Error how many there are, naming the
// deliveries of the oldest five: a restart sends them all again). A store
// call that the end of ctx cuts short is not logged, whatever error the
// store gives for it (a driver's own "operation cancelled" that does not
// wrap context.Canceled): Run tells its end by ctx. Run leaves no
// goroutine behind, also when it unwinds with a panic (a Tick's, which it
// repeats once its other Ticks have recorded their sends and ended).
// Only one Run per engine may be active: a second returns
// [ErrAlreadyRunning] at once.
func (e *Engine) Run(ctx context.Context) error {
	if ctx == nil {
		return errNilContext("Run")
	}
	if !e.running.CompareAndSwap(false, true) {
		return ErrAlreadyRunning
	}
	defer e.running.Store(false)
	// Deferred: a Tick's panic that Run repeats, which may end the
	// process, loses the kept outcomes as an exit does.
	defer e.reportKept()
	stopFlusher := e.startTallyFlusher(ctx)
	defer stopFlusher()
	notified := &notices{}
	if n, ok := e.store.(store.Notifier); ok {
		ch, stop := n.Notify(e.cfg.namespace)
		defer stop()
		notified.ch = ch
	}
	defer e.armed.Store(minInt64) // nobody to wake: scheduling Tracks need not signal

	ticks := newRunTicks(e.cfg.concurrency)
	// A panic that unwinds Run (a Tick's, which Run repeats, or one on
	// Run's own goroutine) comes out once the Ticks still in flight have
	// ended, as a Tick's comes out once its sends are recorded: none goes
	// on sending beside the Run the host may start after recovering it.
	tickCtx, endTicks := context.WithCancel(ctx)
	defer ticks.stop(endTicks, e)
	failures := 0   // store errors in a row
	held := 0       // Ticks in a row that found what was due held elsewhere
	rested := false // paused before the Tick to come (ticks.streak)
	due := true     // something may be due: start a Tick
	var err error   // a store error to wait after
	for {
		if err == nil {
			// The ends of the Ticks that ended meanwhile: a store error
			// among them paces Run as one of its own calls' does. Read
			// before the look at ctx, which logs it unless it is ctx's
			// end.
			err = ticks.settled()
		}
		if ctx.Err() != nil {
			// A store error met while the sends in progress finished (a
			// record the store failed: the delivery goes again after its
			// lease) is the last Ticks' to tell; the end of ctx is not.
			if err != nil && !endOfContext(ctx, err) {
				e.logError("run", err)
			}
			ticks.finish(ctx, e)
			return nil
		}
		if err != nil {
			// Wake-ups neither cut the wait short nor outlive it: the
			// retry looks at everything they announce. The wait grows
			// with the store errors in a row, Run's own or its Ticks'
			// (a Tick may claim, as Run's calls succeed, and then fail).
			e.logError("run", err)
			err = nil
			failures++
			if !e.sleep(ctx, storeRetry.backoff(max(failures, ticks.failing)), nil, nil, ticks) {
				continue
			}
			drain(e.wake)
			drain(notified.ch)
			due = true
			continue
		}
		if due && ticks.full() {
			// Every slot sends: what is due waits for one to come free.
			e.armed.Store(maxInt64)
			err = e.await(ctx, ticks)
			continue
		}
		claimed, claimedAt := true, time.Time{}
		if due && !rested {
			// Ticks in a row whose claims came to nothing: the store
			// hands out deliveries it did not lease (claimStreak).
			if d, streakErr := ticks.streak.pause(); d > 0 {
				if streakErr != nil {
					e.logError("run", streakErr)
				}
				rested = true
				e.sleep(ctx, d, e.wake, notified, ticks)
				continue
			}
		}
		if due {
			rested = false
			// Until the timer is armed, any Track that schedules wakes
			// us: what it scheduled may have missed this Tick's claim
			// and the NextDue below.
			e.armed.Store(maxInt64)
			claimedAt = e.cfg.clock.Now()
			if claimed, err = ticks.start(tickCtx, e); err != nil {
				continue
			}
			due = false
		}
		var wait time.Duration
		var next time.Time
		if wait, next, err = e.nextWait(ctx, notified); err != nil {
			due = true
			continue
		}
		failures = 0
		if claimed {
			held = 0
		}
		if wait == 0 {
			due = true
			if !claimed && !next.After(claimedAt) {
				// It was due when the Tick claimed, which found nothing:
				// another engine holds it (a claim, an update, a cancel
				// in progress on a store that skips the rows others
				// lock). Look again after a pause, as after a store
				// error, not in a tight loop; a wake-up ends it.
				held++
				e.sleep(ctx, storeRetry.backoff(held), e.wake, notified, ticks)
			}
			continue
		}
		due, err = e.sleepUntilDue(ctx, wait, notified, ticks)
	}
}

// storeRetry paces Run after store errors: the first retry comes soon,
// as one failure is often a single dropped connection; the waits double
// while the store keeps failing, so that an outage is not met with a
// stream of calls, up to a cap that bounds how long after the store's
// return Run resumes. The jitter spreads engines that failed together.
var storeRetry = RetryPolicy{MaxAttempts: 1, Base: 100 * time.Millisecond, Max: 2 * time.Second, Jitter: 0.2}

// nextWait returns how long Run may sleep: until the next due delivery
// (next, zero if none), at most the poll interval, -1 meaning "until
// woken".
func (e *Engine) nextWait(ctx context.Context, notified *notices) (time.Duration, time.Time, error) {
	next, ok, err := e.store.NextDue(ctx, e.cfg.namespace)
	if err != nil {
		return 0, time.Time{}, cutShort(ctx, err)
	}
	wait := time.Duration(-1)
	if ok {
		wait = min(max(next.Sub(e.cfg.clock.Now()), 0), runMaxSleep)
	}
	if p := notified.poll(e.cfg.pollInterval); p > 0 && (wait < 0 || wait > p) {
		wait = p
	}
	return wait, next, nil
}

// runMaxSleep bounds Run's wait for a pending delivery. Its timer runs on the
// monotonic clock, which a step of the wall clock (an NTP correction, a
// machine suspended and resumed) does not move: without a bound, a
// delivery due hours later would go as late as the step. Waking every
// minute also lets Tick prune on time while a delivery is pending.
const runMaxSleep = time.Minute

// sleep waits for d (forever when d < 0), a value on wake or notified
// (nil: none), or the end of ctx, which it reports as false. The Ticks
// that end meanwhile are read (a store error among them is logged): each
// holds its end until Run reads it.
func (e *Engine) sleep(ctx context.Context, d time.Duration, wake <-chan struct{}, notified *notices, ticks *runTicks) bool {
	timerC, stop := e.arm(d)
	defer stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-timerC:
			return true
		case <-wake:
			return true
		case _, ok := <-notified.channel():
			notified.heard(e, ok)
			return true
		case end := <-ticks.done:
			if err := ticks.landed(end); err != nil && !endOfContext(ctx, err) {
				e.logError("run", err)
			}
		}
	}
}

// arm starts a timer for d, none when d < 0 (its channel is then nil),
// and tells Track from when on a delivery it schedules must wake Run.
func (e *Engine) arm(d time.Duration) (<-chan time.Time, func() bool) {
	if d <= 0 {
		e.armed.Store(maxInt64)
		return nil, func() bool { return false }
	}
	t := e.cfg.clock.Timer(d)
	e.armed.Store(e.cfg.clock.Now().Add(d).UnixNano())
	return t.C, t.Stop
}

// sleepUntilDue waits as sleep does, for d, a wake-up or the end of ctx,
// and reports due: whether to start a Tick. A Tick that ends meanwhile
// ends the wait with due false (the next due time is to be read again) or
// with its store error.
func (e *Engine) sleepUntilDue(ctx context.Context, d time.Duration, notified *notices, ticks *runTicks) (due bool, err error) {
	timerC, stop := e.arm(d)
	defer stop()
	select {
	case <-ctx.Done():
		return false, nil
	case <-timerC:
	case <-e.wake:
	case _, ok := <-notified.channel():
		notified.heard(e, ok)
	case end := <-ticks.done:
		return false, ticks.landed(end)
	}
	return true, nil
}

// await waits, while every slot sends, for one to come free, a Tick to
// end (its store error is returned) or ctx to end.
func (e *Engine) await(ctx context.Context, ticks *runTicks) error {
	select {
	case <-ctx.Done():
	case <-ticks.freed:
	case end := <-ticks.done:
		return ticks.landed(end)
	}
	return nil
}

// drain takes the value waiting in ch, if any.
func drain(ch <-chan struct{}) {
	select {
	case <-ch:
	default:
	}
}
