package main

import "testing"

// The cases of `go run ./bench`, as benchmarks: go test ./bench -bench . -benchmem
// (BENCH_USERS sets the workload size; 1,000,000 by default).

func BenchmarkFloor(b *testing.B)                   { floorEvent(b) }
func BenchmarkTrackNoListener(b *testing.B)         { trackNoListener(b) }
func BenchmarkTrackTrigger(b *testing.B)            { trackTrigger(b) }
func BenchmarkTrackException(b *testing.B)          { trackException(b) }
func BenchmarkTrackDuplicate(b *testing.B)          { trackDuplicate(b) }
func BenchmarkTrackNoListenerParallel(b *testing.B) { noListenerParallel(b) }
func BenchmarkTrackTriggerParallel(b *testing.B)    { triggerParallel(b) }
func BenchmarkTrackExceptionParallel(b *testing.B)  { exceptionParallel(b) }
func BenchmarkTrackDuplicateParallel(b *testing.B)  { duplicateParallel(b) }

func BenchmarkTick(b *testing.B) {
	for _, due := range []int{1, 100, 10_000, 100_000} {
		b.Run(itoa(due), tickDue(due, 1))
	}
	b.Run("100000_4workers", tickDue(100_000, 4))
}

func BenchmarkMemoryPerPending(b *testing.B) { memoryPerPending(workloadUsers())(b) }

func BenchmarkTrackScaling(b *testing.B) {
	b.Run("followups=10", trackScaled(10, 0))
	b.Run("followups=1000", trackScaled(1000, 0))
	b.Run("followups=100000", trackScaled(100_000, 0))
	b.Run("pending=1000", trackScaled(0, 1000))
	b.Run("pending=1000000", trackScaled(0, 1_000_000))
	b.Run("trackall_pending=1000", trackScaledBatch(0, 1000, trackAllBatch))
	b.Run("trackall_pending=1000000", trackScaledBatch(0, 1_000_000, trackAllBatch))
}

func BenchmarkTimersScaling(b *testing.B) {
	b.Run("pending=1000", timersScaled(1000))
	b.Run("pending=1000000", timersScaled(1_000_000))
}

func BenchmarkPairInCache(b *testing.B) {
	b.Run("engine", pairInCache)
	b.Run("timers", pairInCacheTimers)
}

func BenchmarkAbandonedCart(b *testing.B) {
	b.Run("engine", abandonedCartEngine(workloadUsers(), 0, true))
	b.Run("engine_trackall", abandonedCartEngine(workloadUsers(), trackAllBatch, true))
	b.Run("engine_no_ids", abandonedCartEngine(workloadUsers(), 0, false))
	b.Run("timers", abandonedCartTimers(workloadUsers()))
	b.Run("timers_fired", abandonedCartTimersFired(workloadUsers()))
	b.Run("events_built", buildEvents(workloadUsers()))
}

// TestWorkloadsAgree checks on a small run that the engine and baseline
// (a) send the same number of messages: the comparison is like for like.
func TestWorkloadsAgree(t *testing.T) {
	e := testing.Benchmark(abandonedCartEngine(1000, 0, true))
	a := testing.Benchmark(abandonedCartTimers(1000))
	f := testing.Benchmark(abandonedCartTimersFired(1000))
	if e.N == 0 || a.N == 0 || f.N == 0 {
		t.Fatal("a workload failed")
	}
}

// TestPairedRatio checks the table's paired ratios: per-round ratios,
// their median and range, and the rounds won, for a metric where more is
// better and one where less is.
func TestPairedRatio(t *testing.T) {
	run := func(v float64) testing.BenchmarkResult {
		return testing.BenchmarkResult{Extra: map[string]float64{"m": v}}
	}
	a := []testing.BenchmarkResult{run(10), run(30), run(9)}
	b := []testing.BenchmarkResult{run(20), run(20), run(10)}
	if got, want := pairedRatio(a, b, "m", false), "0.90x [0.50–1.50, 1/3]"; got != want {
		t.Errorf("more is better: %q, want %q", got, want)
	}
	if got, want := pairedRatio(a, b, "m", true), "0.90x [0.50–1.50, 2/3]"; got != want {
		t.Errorf("less is better: %q, want %q", got, want)
	}
	if got, want := pairedRatio(a[:1], b[:1], "m", false), "0.50x"; got != want {
		t.Errorf("one round: %q, want %q", got, want)
	}
	shrank := []testing.BenchmarkResult{run(-5), run(20), run(0)}
	if got, want := pairedRatio(a, shrank, "m", true), "1.50x (1 of 3 rounds measured)"; got != want {
		t.Errorf("rounds not measured: %q, want %q", got, want)
	}
	if got, want := pairedRatio(a[:1], shrank[:1], "m", true), "-"; got != want {
		t.Errorf("no round measured: %q, want %q", got, want)
	}
}

// BenchmarkOneUser: one user holding 100, 1,000 or 10,000 pending
// deliveries; per-update cost linear in the user's state shows as ns/op
// growing tenfold per step (Track) and ns/delivery likewise (Send: each
// delivery is two updates of that user).
func BenchmarkOneUser(b *testing.B) {
	for _, n := range []int{100, 1000, 10_000} {
		b.Run("track/pending="+itoa(n), oneUserTrack(n))
	}
	for _, n := range []int{100, 1000, 10_000} {
		b.Run("send/pending="+itoa(n), oneUserSend(n))
	}
}
