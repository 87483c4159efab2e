package postgres

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

var errRoundTrip = errors.New("test: the round trip failed")

// The context of a transaction's last round trip outlives the caller's by
// commitGrace, lasts commitCeiling at most under a context without a
// deadline, and is refused when the caller's has ended already; finish
// says why it ended.
func TestCommitContext(t *testing.T) {
	t.Run("the caller's context ends", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			wctx, finish, err := commitContext(ctx)
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Minute)
			cancel()
			synctest.Wait()
			time.Sleep(commitGrace - time.Nanosecond)
			if wctx.Err() != nil {
				t.Fatal("ended before the grace")
			}
			time.Sleep(time.Nanosecond)
			synctest.Wait()
			if wctx.Err() == nil {
				t.Fatal("still going the grace after the caller's context ended")
			}
			err = finish(errRoundTrip)
			if !errors.Is(err, errRoundTrip) || !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "no answer 30s after the call's context was cancelled") {
				t.Fatalf("finish: %v", err)
			}
		})
	})
	t.Run("a context without a deadline", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			wctx, finish, err := commitContext(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(commitCeiling - time.Nanosecond)
			if wctx.Err() != nil {
				t.Fatal("ended before the ceiling")
			}
			time.Sleep(time.Nanosecond)
			synctest.Wait()
			// The driver reports the context's own error: a timeout, not
			// a cancel the caller never made.
			if !errors.Is(wctx.Err(), context.DeadlineExceeded) {
				t.Fatalf("the context ended with %v", wctx.Err())
			}
			if err := finish(wctx.Err()); !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
				t.Fatalf("finish: %v", err)
			}
		})
	})
	t.Run("a deadline past the ceiling", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
			defer cancel()
			wctx, finish, err := commitContext(ctx)
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Hour + commitGrace - time.Nanosecond)
			if wctx.Err() != nil {
				t.Fatal("ended before the caller's deadline and the grace")
			}
			time.Sleep(time.Nanosecond)
			synctest.Wait()
			if !errors.Is(wctx.Err(), context.DeadlineExceeded) {
				t.Fatalf("the context ended with %v", wctx.Err())
			}
			err = finish(wctx.Err())
			if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "no answer 30s after the call's deadline") {
				t.Fatalf("finish: %v", err)
			}
			if again := finish(errRoundTrip); again != errRoundTrip {
				t.Fatalf("a second finish: %v", again)
			}
		})
	})
	t.Run("an ended context, and a round trip that succeeds", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		wctx, finish, err := commitContext(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := finish(nil); err != nil || wctx.Err() == nil {
			t.Fatalf("finish: %v; the context ended: %v", err, wctx.Err() != nil)
		}
		cancel()
		if _, _, err := commitContext(ctx); err != context.Canceled {
			t.Fatalf("an ended context: %v, want context.Canceled", err)
		}
	})
}

// finish releases what commitContext registered: calls on one long-lived
// context (a Run's, a server's) leave nothing behind them.
func TestCommitContextLeavesNothingBehind(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	before := heap()
	for range 100_000 {
		_, finish, err := commitContext(ctx)
		if err != nil {
			t.Fatal(err)
		}
		_ = finish(nil)
	}
	if grown := int64(heap()) - int64(before); grown > 2<<20 {
		t.Fatalf("the heap grew by %d bytes over 100,000 calls", grown)
	}
}

// What commitContext adds to each transaction, under the contexts hosts
// pass: one without a deadline (a timer for the ceiling) and one with.
func BenchmarkCommitContext(b *testing.B) {
	b.Run("no deadline", func(b *testing.B) {
		ctx := context.Background()
		for b.Loop() {
			_, finish, _ := commitContext(ctx)
			_ = finish(nil)
		}
	})
	b.Run("deadline", func(b *testing.B) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
		defer cancel()
		for b.Loop() {
			_, finish, _ := commitContext(ctx)
			_ = finish(nil)
		}
	})
}
