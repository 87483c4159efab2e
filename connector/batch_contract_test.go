package connector_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/store"
)

// silentFailStore is a memory store whose UpdateBatch, once failing,
// applies nothing and returns an error without marking any op failed:
// against the contract, which says each op not applied has its Err.
type silentFailStore struct {
	*store.Memory
	failing bool
}

var errSilent = errors.New("silent batch failure")

func (s *silentFailStore) UpdateBatch(ctx context.Context, ns string, ops []store.Op) error {
	if s.failing {
		return errSilent
	}
	return s.Memory.UpdateBatch(ctx, ns, ops)
}

// A batch the store fails without saying which ops failed counts as not
// applied: TrackAll reports every event as failed with the store's error,
// not as tracked.
func TestTrackAllTakesABatchFailedWithNoOpErrorAsNotApplied(t *testing.T) {
	s := &silentFailStore{Memory: store.NewMemory()}
	e, err := connector.New(s, &sendLog{})
	require.NoError(t, err)
	dueFor(t, e)
	s.failing = true
	err = e.TrackAll(context.Background(), []event.Event{
		{ID: "a", UserID: "u1", Kind: event.PushOpened, CampaignID: "o"},
		{ID: "b", UserID: "u2", Kind: event.PushOpened, CampaignID: "o"},
	})
	require.ErrorIs(t, err, errSilent)
	require.Len(t, connector.TrackErrors(err), 2)
	s.failing = false
	n, err := e.PendingCount(context.Background())
	require.NoError(t, err)
	require.Zero(t, n, "nothing was applied")
}

// rolledBackStore is a memory store whose UpdateBatch, once failing, runs
// each op's update on a copy of the user's state, as a transaction that
// is then rolled back, and returns an error without marking any op
// failed.
type rolledBackStore struct {
	*store.Memory
	failing bool
}

func (s *rolledBackStore) UpdateBatch(ctx context.Context, ns string, ops []store.Op) error {
	if !s.failing {
		return s.Memory.UpdateBatch(ctx, ns, ops)
	}
	for _, op := range ops {
		st, err := s.Memory.User(ctx, ns, op.UserID)
		if err != nil {
			return err
		}
		c := st.Clone()
		op.Fn(&c, false)
	}
	return errSilent
}

func (s *silentFailStore) fail(on bool) { s.failing = on }
func (s *rolledBackStore) fail(on bool) { s.failing = on }

// Nor does a Tick send a delivery whose last check such a batch failed,
// whether the store applied nothing or ran the checks and rolled them
// back: the check was not stored, so the send would go out unmarked, and
// again after its lease.
func TestTickSendsNothingWhoseCheckABatchFailedSilently(t *testing.T) {
	for _, c := range []struct {
		name  string
		store interface {
			store.Store
			fail(bool)
		}
		slots int
	}{
		{"nothing applied", &silentFailStore{Memory: store.NewMemory()}, 256},
		{"rolled back", &rolledBackStore{Memory: store.NewMemory()}, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l := &sendLog{}
				e, err := connector.New(c.store, l, connector.WithSendConcurrency(c.slots))
				require.NoError(t, err)
				dueFor(t, e, "u1")
				c.store.fail(true)
				_, err = e.Tick(context.Background())
				require.ErrorIs(t, err, errSilent)
				require.Empty(t, l.sends())
				c.store.fail(false)
				time.Sleep(2 * time.Minute) // past the leases the failed Tick could not give back
				n, err := e.Tick(context.Background())
				require.NoError(t, err)
				require.Equal(t, 2, n)
				require.Len(t, l.sends(), 2)
				require.NotEqual(t, l.sends()[0].ID, l.sends()[1].ID)
			})
		})
	}
}
