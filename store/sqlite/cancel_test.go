package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/campaignconnector/campaignconnector/store"
	"github.com/campaignconnector/campaignconnector/store/sqlite"
	"github.com/stretchr/testify/require"
)

// cancelSoon returns a context that a goroutine cancels after yielding
// the processor a random number of times: the calls given it end at every
// point of their work, the start and the commit of their transaction
// included.
func cancelSoon(r *rand.Rand) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	spins := r.IntN(300)
	go func() {
		for range spins {
			runtime.Gosched()
		}
		cancel()
	}()
	return ctx
}

// Calls whose context ends while they write (a host's request cancelled
// by its client, a deadline) fail with the context's error or succeed,
// and whichever they do is true: a call that failed stored nothing, one
// that succeeded stored its change, and the store, like every other
// store on the file, goes on writing (no transaction is left open
// holding the file's write lock).
func TestCancelledCallsLeaveNoTransactionAndTellTheTruth(t *testing.T) {
	path := testPath(t)
	s := openStore(t, path, sqlite.WithSynchronous(sqlite.SynchronousFull))
	other := openStore(t, path, sqlite.WithBusyTimeout(50e6))
	r := rand.New(rand.NewPCG(1, 2))
	live := context.Background()
	failed := 0
	for i := 0; i < 3000 && failed < 300; i++ {
		user := fmt.Sprint("u", i)
		err := s.Update(cancelSoon(r), "ns", user, t0, store.Dedup{}, func(u *store.UserState, _ bool) {
			u.Pending = append(u.Pending, newPending(user, "f", "d", t0))
		})
		_, uerr := s.User(live, "ns", user)
		if err != nil {
			require.ErrorIs(t, err, context.Canceled)
			failed++
			require.ErrorIs(t, uerr, store.ErrNotFound, "call %d failed but its change was committed", i)
		} else {
			require.NoError(t, uerr, "call %d succeeded but its change is not there", i)
		}
		require.NoError(t, other.Update(live, "ns", "other", t0, store.Dedup{}, func(*store.UserState, bool) {}),
			"after call %d, another store on the file writes", i)
	}
	require.NotZero(t, failed, "some calls were cancelled")
}

// An update function that panics (and a host that recovers, as net/http
// does for a handler) leaves the store writing: its transaction is rolled
// back, as the memory store releases its lock.
func TestPanicInUpdateRollsBack(t *testing.T) {
	path := testPath(t)
	s := openStore(t, path)
	ctx := context.Background()
	func() {
		defer func() { require.NotNil(t, recover()) }()
		_ = s.Update(ctx, "ns", "u", t0, store.Dedup{}, func(u *store.UserState, _ bool) {
			u.Pending = append(u.Pending, newPending("u", "f", "d", t0))
			panic("a bug in the update function")
		})
	}()
	require.NoError(t, s.Update(ctx, "ns", "v", t0, store.Dedup{}, func(*store.UserState, bool) {}))
	_, err := s.User(ctx, "ns", "u")
	require.True(t, errors.Is(err, store.ErrNotFound), "the panicking update stored nothing: %v", err)
	other := openStore(t, path, sqlite.WithBusyTimeout(50e6))
	require.NoError(t, other.Update(ctx, "ns", "w", t0, store.Dedup{}, func(*store.UserState, bool) {}))
}
