package main

import (
	"context"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/bench/internal/cputime"
	"github.com/campaignconnector/campaignconnector/bench/internal/ids"
	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
)

// workload is the abandoned-cart flow end to end: n users receive the
// push, 40 % buy and 20 % open the push during the 4-hour wait (the
// exceptions), the other 40 % get the reminder.
type workload struct {
	n                      int
	events, deliveries     int
	trackTime, deliverTime time.Duration
	trackCPU, deliverCPU   time.Duration // the process's CPU time in each phase
	peakBytes              int64
}

// timed runs fn and adds the wall-clock and CPU time it took to wall and
// cpu.
func timed(wall, cpu *time.Duration, fn func()) {
	start, c := time.Now(), cputime.Self()
	fn()
	*cpu += cputime.Self() - c
	*wall += time.Since(start)
}

// cartEvents and cartReminders are how many events the workload tracks
// and how many reminders it sends for n users.
func cartEvents(n int) int    { return n + n*6/10 }
func cartReminders(n int) int { return n - n*6/10 }

// report gives events/s (the tracking phase), deliveries/s (the sending
// phase), end-to-end events/s (the events over both phases' time: what a
// process doing both sees), the same per second of the process's CPU time
// (steadier on a shared machine, where a run waits for a core now and
// then) and the peak memory.
func (w *workload) report(b *testing.B) {
	b.ReportMetric(float64(w.events)/w.trackTime.Seconds(), "events/s")
	b.ReportMetric(float64(w.deliveries)/w.deliverTime.Seconds(), "deliveries/s")
	b.ReportMetric(float64(w.events)/(w.trackTime+w.deliverTime).Seconds(), "e2e-events/s")
	b.ReportMetric(float64(w.events)/w.trackCPU.Seconds(), "events/cpu-s")
	b.ReportMetric(float64(w.deliveries)/w.deliverCPU.Seconds(), "deliveries/cpu-s")
	b.ReportMetric(float64(w.events)/(w.trackCPU+w.deliverCPU).Seconds(), "e2e-events/cpu-s")
	b.ReportMetric(float64(w.peakBytes)/float64(w.n), "B/pending")
}

// cartTriggers hands the workload's pushes to fn, and cartExceptions its
// purchases and opens, each event built as a webhook decoder builds it
// (see source).
func cartTriggers(users []string, src *source, fn func(event.Event)) {
	for _, u := range users {
		fn(src.event(u, event.PushReceived, "abandoned_cart"))
	}
}

func cartExceptions(users []string, src *source, fn func(event.Event)) {
	for i, u := range users {
		switch i % 10 {
		case 0, 1, 2, 3:
			fn(src.event(u, event.Purchase, ""))
		case 4, 5:
			fn(src.event(u, event.PushOpened, "abandoned_cart"))
		}
	}
}

// abandonedCartEngine runs the workload through the engine on the memory
// store, with default options, a clock the benchmark sets, which jumps
// past the due time before the Ticks. Events carry provider IDs when ids
// is set. batch 0 tracks each event with Track; otherwise events go to
// TrackAll in slices of batch, as a host receiving them in batches (a
// webhook posting several, a queue consumer) would hand them over.
func abandonedCartEngine(n, batch int, withIDs bool) func(b *testing.B) {
	return func(b *testing.B) {
		users := ids.Users("user-", n)
		for b.Loop() {
			b.StopTimer()
			clk := newStepClock(t0)
			var sent atomic.Int64
			var e *connector.Engine
			w := workload{n: n, events: cartEvents(n)}
			feed := feeder{batch: batch}
			src := &source{ids: withIDs}
			b.StartTimer()
			count := connector.SenderFunc(func(context.Context, connector.Delivery) error {
				sent.Add(1)
				return nil
			})
			track := func(ev event.Event) { feed.track(b, ev) }
			w.peakBytes = heapAfter(func() {
				e, _ = newEngineWith(b, clk, cartFlow(), 0, count)
				feed.e = e
				timed(&w.trackTime, &w.trackCPU, func() {
					cartTriggers(users, src, track)
					feed.flush(b)
				})
			})
			clk.add(time.Hour)
			timed(&w.trackTime, &w.trackCPU, func() {
				cartExceptions(users, src, track)
				feed.flush(b)
			})
			clk.add(cartDelay)
			total := 0
			timed(&w.deliverTime, &w.deliverCPU, func() {
				for {
					k, err := e.Tick(ctx)
					if err != nil {
						b.Fatal(err)
					}
					total += k
					if k == 0 {
						break
					}
				}
			})
			w.deliveries = total
			if want := cartReminders(n); total != want || int(sent.Load()) != want {
				b.Fatalf("sent %d (%d), want %d", total, sent.Load(), want)
			}
			w.report(b)
		}
	}
}

// trackAllBatch is the batch size of the workload's TrackAll variant: what
// a queue consumer reading a thousand messages at a time hands over.
const trackAllBatch = 1024

// feeder hands events to an engine one by one (batch 0) or in slices of
// batch through TrackAll.
type feeder struct {
	e      *connector.Engine
	batch  int
	events []event.Event
}

func (f *feeder) track(b *testing.B, ev event.Event) {
	if f.batch == 0 {
		track(b, f.e, ev)
		return
	}
	f.events = append(f.events, ev)
	if len(f.events) == f.batch {
		f.flush(b)
	}
}

// flush tracks the events held back.
func (f *feeder) flush(b *testing.B) {
	if len(f.events) == 0 {
		return
	}
	if err := f.e.TrackAll(ctx, f.events); err != nil {
		b.Fatal(err)
	}
	f.events = f.events[:0]
}

// lastTimersTrack is the last tracking phase of baseline (a), in ns.
var lastTimersTrack atomic.Int64

// trackTimers runs the tracking phase of the workload through baseline
// (a), handed the same events as the engine: every user's reminder armed
// after delay(), then the exceptions. It returns the workload with its
// events, tracking time and peak heap filled in.
func trackTimers(users []string, send func(string), delay func() time.Duration) (*timerScheduler, workload) {
	n := len(users)
	var s *timerScheduler
	w := workload{n: n, events: cartEvents(n)}
	src := &source{ids: true}
	w.peakBytes = heapAfter(func() {
		s = newTimerScheduler(send)
		timed(&w.trackTime, &w.trackCPU, func() {
			cartTriggers(users, src, func(ev event.Event) { s.schedule(ev.UserID, "cart_reminder", delay()) })
		})
	})
	timed(&w.trackTime, &w.trackCPU, func() {
		cartExceptions(users, src, func(ev event.Event) { s.cancel(ev.UserID, "cart_reminder") })
	})
	lastTimersTrack.Store(int64(w.trackTime))
	return s, w
}

// abandonedCartTimers runs the workload through baseline (a).
func abandonedCartTimers(n int) func(b *testing.B) {
	return func(b *testing.B) {
		users := ids.Users("user-", n)
		for b.Loop() {
			var sent atomic.Int64
			s, w := trackTimers(users, func(string) { sent.Add(1) }, func() time.Duration { return cartDelay })
			timed(&w.deliverTime, &w.deliverCPU, s.fireAll)
			w.deliveries = int(sent.Load())
			if want := cartReminders(n); w.deliveries != want {
				b.Fatalf("sent %d, want %d", w.deliveries, want)
			}
			w.report(b)
		}
	}
}

// abandonedCartTimersFired runs baseline (a) with its timers fired by the
// Go runtime, as they would be in production: each time.AfterFunc fires on
// its own goroutine when its time comes. Every reminder is armed for one
// shared instant, far enough ahead for the tracking phase to end first;
// the delivery phase runs from the first reminder fired to the last.
// (abandonedCartTimers calls the timers' functions directly instead: a
// lower bound on the baseline's cost per delivery.)
func abandonedCartTimersFired(n int) func(b *testing.B) {
	return func(b *testing.B) {
		users := ids.Users("user-", n)
		want := cartReminders(n)
		for b.Loop() {
			var sent atomic.Int64
			var first, last atomic.Int64 // UnixNano of the first and last timer fired
			done := make(chan struct{})
			send := func(string) {
				now := time.Now().UnixNano()
				first.CompareAndSwap(0, now)
				last.Store(now)
				if sent.Add(1) == int64(want) {
					close(done)
				}
			}
			// Far enough ahead for the tracking phase, which takes longer on
			// a busy machine: three times the last tracking phase seen.
			lead := max(2*time.Second+time.Duration(n)*5*time.Microsecond, 3*time.Duration(lastTimersTrack.Load()))
			fireAt := time.Now().Add(lead)
			_, w := trackTimers(users, send, func() time.Duration { return time.Until(fireAt) })
			if first.Load() != 0 {
				b.Fatalf("a timer fired before the tracking phase ended (lead %v too short)", lead)
			}
			var wait time.Duration
			timed(&wait, &w.deliverCPU, func() { // the CPU time counts the firing only: waiting costs none
				select {
				case <-done:
				case <-time.After(lead + time.Minute):
					b.Fatalf("sent %d of %d a minute after the timers' time", sent.Load(), want)
				}
			})
			w.deliverTime = time.Duration(last.Load() - first.Load())
			w.deliveries = int(sent.Load())
			w.report(b)
		}
	}
}

// buildEvents builds the workload's events and drops them: what the
// events cost the host before either scheduler sees them (both workloads
// above include it in their tracking time).
func buildEvents(n int) func(b *testing.B) {
	return func(b *testing.B) {
		users := ids.Users("user-", n)
		var sink int
		for b.Loop() {
			src := &source{ids: true}
			w := workload{n: n, events: cartEvents(n)}
			keep := func(ev event.Event) { sink += len(ev.ID) }
			timed(&w.trackTime, &w.trackCPU, func() {
				cartTriggers(users, src, keep)
				cartExceptions(users, src, keep)
			})
			b.ReportMetric(float64(w.events)/w.trackTime.Seconds(), "events/s")
			b.ReportMetric(float64(w.events)/w.trackCPU.Seconds(), "events/cpu-s")
		}
		runtime.KeepAlive(sink)
	}
}
