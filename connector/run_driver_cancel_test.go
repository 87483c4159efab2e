package connector_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// cancellingDriver is a memory store whose call named hang, once set,
// waits for its context to end and then fails as some drivers do: with an
// error of their own that does not wrap context.Canceled.
type cancellingDriver struct {
	*store.Memory
	hang    atomic.Value // string: the method that hangs
	entered atomic.Bool  // it was called
}

var errDriverCancelled = errors.New("driver: cancelled")

func (s *cancellingDriver) hold(ctx context.Context, method string) error {
	if name, _ := s.hang.Load().(string); name != method {
		return nil
	}
	s.entered.Store(true)
	<-ctx.Done()
	return errDriverCancelled
}

func (s *cancellingDriver) Revision(ctx context.Context, ns string) (int64, error) {
	if err := s.hold(ctx, "Revision"); err != nil {
		return 0, err
	}
	return s.Memory.Revision(ctx, ns)
}

func (s *cancellingDriver) Prune(ctx context.Context, ns string, now, logBefore time.Time) (int, error) {
	if err := s.hold(ctx, "Prune"); err != nil {
		return 0, err
	}
	return s.Memory.Prune(ctx, ns, now, logBefore)
}

func (s *cancellingDriver) Claim(ctx context.Context, ns string, now time.Time, lease time.Duration, limit int, token uint64) ([]store.Claim, error) {
	if err := s.hold(ctx, "Claim"); err != nil {
		return nil, err
	}
	return s.Memory.Claim(ctx, ns, now, lease, limit, token)
}

func (s *cancellingDriver) NextDue(ctx context.Context, ns string) (time.Time, bool, error) {
	if err := s.hold(ctx, "NextDue"); err != nil {
		return time.Time{}, false, err
	}
	return s.Memory.NextDue(ctx, ns)
}

func (s *cancellingDriver) User(ctx context.Context, ns, userID string) (store.UserState, error) {
	if err := s.hold(ctx, "User"); err != nil {
		return store.UserState{}, err
	}
	return s.Memory.User(ctx, ns, userID)
}

func (s *cancellingDriver) Take(ctx context.Context, ns, key string, limit int64, now, expires time.Time) (bool, error) {
	if err := s.hold(ctx, "Take"); err != nil {
		return false, err
	}
	return s.Memory.Take(ctx, ns, key, limit, now, expires)
}

// TestRunEndsQuietlyWhenTheDriverReportsItsOwnCancellation: a store call
// Run's context cuts short may fail with the driver's own error rather
// than one wrapping context.Canceled. Run tells its end by its context:
// it logs no error, whichever call its end interrupted (the campaigns'
// revision, the prunes, the claim, the next due time, a frequency cap's or
// a rate limit's read as a delivery is checked).
func TestRunEndsQuietlyWhenTheDriverReportsItsOwnCancellation(t *testing.T) {
	for _, method := range []string{"Revision", "Prune", "PruneTallies", "Claim", "NextDue", "User", "Take"} {
		t.Run(method, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := &cancellingDriver{Memory: store.NewMemory()}
				var logged bytes.Buffer
				e, err := connector.New(s, connector.SenderFunc(func(context.Context, connector.Delivery) error { return nil }),
					connector.WithFrequencyCaps(connector.FrequencyCap{Max: 10, Window: time.Hour}),
					connector.WithLogger(slog.New(slog.NewTextHandler(&logged, nil))))
				require.NoError(t, err)
				ctx := context.Background()
				for _, c := range []rule.Campaign{
					{ID: "o"},
					{ID: "now", RateLimit: 100, Triggers: []rule.Trigger{{Kind: event.PushOpened, CampaignID: "o"}}},
				} {
					require.NoError(t, e.Save(ctx, c))
					require.NoError(t, e.Publish(ctx, c.ID))
				}
				require.NoError(t, e.Track(ctx, event.Event{UserID: "ann", Kind: event.PushOpened, CampaignID: "o"}))

				time.Sleep(2 * time.Minute) // past the prune interval: Run's first Tick prunes

				s.hang.Store(method)
				runCtx, cancel := context.WithCancel(ctx)
				defer cancel()
				ran := make(chan error, 1)
				go func() { ran <- e.Run(runCtx) }()
				synctest.Wait()
				require.True(t, s.entered.Load(), "Run did not call %s", method)
				cancel()
				require.NoError(t, <-ran)
				for line := range strings.Lines(logged.String()) {
					require.NotContains(t, line, "level=ERROR", "Run logged its own end as an error")
				}
			})
		})
	}
}

func (s *cancellingDriver) PruneTallies(ctx context.Context, ns string, before time.Time) (int, error) {
	if err := s.hold(ctx, "PruneTallies"); err != nil {
		return 0, err
	}
	return s.Memory.PruneTallies(ctx, ns, before)
}

// TestTickCutShortKeepsTheStoresText: a Tick whose context ends while the
// store hangs returns the context's error, with the store's own text in
// its message, so that a deadline that passed tells what it cut short.
func TestTickCutShortKeepsTheStoresText(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &cancellingDriver{Memory: store.NewMemory()}
		e, err := connector.New(s, connector.SenderFunc(func(context.Context, connector.Delivery) error { return nil }))
		require.NoError(t, err)
		s.hang.Store("Claim")
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, err = e.Tick(ctx)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.ErrorContains(t, err, "claiming due deliveries")
		require.ErrorContains(t, err, "driver: cancelled")
	})
}
