package main

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
)

// workload is the abandoned-cart flow end to end (SPEC S6): n users
// receive the push, 40 % buy during the wait, 20 % open it, the rest get
// the follow-up.
type workload struct {
	n                      int
	events, deliveries     int
	trackTime, deliverTime time.Duration
	peakBytes              int64
}

// report gives events/s (the tracking phase), deliveries/s (the sending
// phase), end-to-end events/s (the events over both phases' time: what a
// process doing both sees) and the peak memory.
func (w *workload) report(b *testing.B) {
	b.ReportMetric(float64(w.events)/w.trackTime.Seconds(), "events/s")
	b.ReportMetric(float64(w.deliveries)/w.deliverTime.Seconds(), "deliveries/s")
	b.ReportMetric(float64(w.events)/(w.trackTime+w.deliverTime).Seconds(), "e2e-events/s")
	b.ReportMetric(float64(w.peakBytes)/float64(w.n), "B/pending")
}

// abandonedCartEngine runs the workload through the engine on the memory
// store, with a clock the benchmark sets, which jumps to the due time
// before one Tick. batch 0 tracks each event with Track; otherwise events
// go to TrackAll in slices of batch, as a host receiving them in batches
// (a webhook posting several, a queue consumer) would hand them over.
func abandonedCartEngine(n, batch int) func(b *testing.B) {
	return func(b *testing.B) {
		users := ids("user-", n)
		for b.Loop() {
			b.StopTimer()
			clk := newStepClock(t0)
			var sent atomic.Int64
			var e *connector.Engine
			w := workload{n: n}
			feed := feeder{batch: batch}
			b.StartTimer()
			count := connector.SenderFunc(func(context.Context, connector.Delivery) error {
				sent.Add(1)
				return nil
			})
			w.peakBytes = heapAfter(func() {
				e, _ = newEngineSending(b, clk, 0, count)
				feed.e = e
				start := time.Now()
				for _, u := range users {
					feed.track(b, event.Event{UserID: u, Kind: event.PushReceived, CampaignID: "abandoned_cart"})
				}
				feed.flush(b)
				w.trackTime += time.Since(start)
			})
			clk.add(time.Hour)
			start := time.Now()
			for i, u := range users {
				switch i % 10 {
				case 0, 1, 2, 3:
					feed.track(b, event.Event{UserID: u, Kind: event.Purchase, Name: "sku"})
				case 4, 5:
					feed.track(b, event.Event{UserID: u, Kind: event.PushOpened, CampaignID: "abandoned_cart"})
				}
			}
			feed.flush(b)
			w.trackTime += time.Since(start)
			w.events = n + n*6/10
			clk.add(24 * time.Hour)
			start = time.Now()
			total := 0
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
			w.deliverTime = time.Since(start)
			w.deliveries = total
			if want := n - n*6/10 + n*2/10; total != want || int(sent.Load()) != want { // the rest, plus the coupons of the openers
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

// trackTimers runs the tracking phase of the workload through baseline
// (a): every user's reminder armed after delay(), then the exceptions
// (coupons counted in sent, at no cost). It returns the workload with its
// events, tracking time and peak heap filled in.
func trackTimers(users []string, send func(string), sent *atomic.Int64, delay func() time.Duration) (*timerScheduler, workload) {
	n := len(users)
	var s *timerScheduler
	w := workload{n: n, events: n + n*6/10}
	w.peakBytes = heapAfter(func() {
		s = newTimerScheduler(send)
		start := time.Now()
		for _, u := range users {
			s.schedule(u, "cart_reminder", delay())
		}
		w.trackTime += time.Since(start)
	})
	start := time.Now()
	for i, u := range users {
		switch i % 10 {
		case 0, 1, 2, 3:
			s.cancel(u, "cart_reminder")
		case 4, 5:
			s.cancel(u, "cart_reminder")
			sent.Add(1) // the coupon: sent at once, as the engine does
		}
	}
	w.trackTime += time.Since(start)
	return s, w
}

// abandonedCartTimers runs the workload through baseline (a).
func abandonedCartTimers(n int) func(b *testing.B) {
	return func(b *testing.B) {
		users := ids("user-", n)
		for b.Loop() {
			var sent atomic.Int64
			s, w := trackTimers(users, func(string) { sent.Add(1) }, &sent, func() time.Duration { return 24 * time.Hour })
			start := time.Now()
			s.fireAll()
			w.deliverTime = time.Since(start)
			w.deliveries = int(sent.Load())
			if want := n - n*6/10 + n*2/10; w.deliveries != want {
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
		users := ids("user-", n)
		want := n - n*6/10 + n*2/10
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
			lead := 2*time.Second + time.Duration(n)*5*time.Microsecond
			fireAt := time.Now().Add(lead)
			_, w := trackTimers(users, send, &sent, func() time.Duration { return time.Until(fireAt) })
			if first.Load() != 0 {
				b.Fatalf("a timer fired before the tracking phase ended (lead %v too short)", lead)
			}
			select {
			case <-done:
			case <-time.After(lead + time.Minute):
				b.Fatalf("sent %d of %d a minute after the timers' time", sent.Load(), want)
			}
			w.deliverTime = time.Duration(last.Load() - first.Load())
			w.deliveries = int(sent.Load())
			w.report(b)
		}
	}
}
