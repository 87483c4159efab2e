package postgres

import (
	"context"
	"testing"
	"testing/synctest"
	"time"
)

// The context of a transaction's last round trip never ends while the
// caller's has not (however long the commit), ends commitGrace after the
// caller's does, and is refused when the caller's has ended already.
func TestCommitContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		wctx, release, err := commitContext(ctx)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Hour)
		if wctx.Err() != nil {
			t.Fatal("ended while the caller's context had not")
		}
		cancel()
		synctest.Wait()
		if wctx.Err() != nil {
			t.Fatal("ended with the caller's context")
		}
		time.Sleep(commitGrace - time.Nanosecond)
		if wctx.Err() != nil {
			t.Fatal("ended before the grace")
		}
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		if wctx.Err() == nil {
			t.Fatal("still going the grace after the caller's context ended")
		}
		release()

		if _, _, err := commitContext(ctx); err != context.Canceled {
			t.Fatalf("an ended context: %v, want context.Canceled", err)
		}

		// Released before the caller's context ends: no timer is left.
		ctx2, cancel2 := context.WithCancel(context.Background())
		wctx2, release2, err := commitContext(ctx2)
		if err != nil {
			t.Fatal(err)
		}
		release2()
		if wctx2.Err() == nil {
			t.Fatal("release did not end the context")
		}
		cancel2()
		synctest.Wait() // the bubble ends with no goroutine or timer of commitContext's left
	})
}
