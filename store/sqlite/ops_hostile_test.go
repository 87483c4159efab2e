package sqlite_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/internal/multiprocess"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/campaignconnector/campaignconnector/store/sqlite"
	"github.com/stretchr/testify/require"
)

// The file a running store has open is deleted, or replaced by another
// database (a copy restored over it, a deploy that moves a fresh file in
// place): SQLite would go on writing to the file it holds open, which no
// process opening the path sees, so every event tracked from then on
// would be acknowledged and lost. The store's writes fail instead, with
// an error naming the path and the cause; its reads are not checked.
func TestWritesFailOnceTheFileIsDeletedOrReplaced(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(t *testing.T, path string)
	}{
		{"deleted", func(t *testing.T, path string) {
			require.NoError(t, os.Remove(path))
		}},
		{"replaced", func(t *testing.T, path string) {
			other := filepath.Join(t.TempDir(), "other.db")
			require.NoError(t, openStore(t, other).Close())
			require.NoError(t, os.Rename(other, path))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			path := testPath(t)
			s := openStore(t, path)
			e, err := connector.New(s, connector.SenderFunc(func(context.Context, connector.Delivery) error { return nil }))
			require.NoError(t, err)
			require.NoError(t, e.Apply(ctx, multiprocess.Campaigns()))
			ev := func(id string) event.Event {
				return event.Event{ID: id, UserID: "u1", Kind: event.PushReceived, CampaignID: "abandoned_cart"}
			}
			require.NoError(t, e.Track(ctx, ev("before")))

			tc.change(t, path)
			err = e.Track(ctx, ev("after"))
			require.ErrorIs(t, err, sqlite.ErrFileChanged)
			require.ErrorContains(t, err, path)
			_, err = e.Tick(ctx)
			require.ErrorIs(t, err, sqlite.ErrFileChanged, "a claim is a write too")
			_, err = s.User(ctx, "", "u1")
			require.False(t, errors.Is(err, sqlite.ErrFileChanged), "reads are not checked")
		})
	}
}

// A store opened with a relative path keeps writing after the process
// changes its working directory: SQLite resolved the path when it opened
// the file, and so does the check that the path still names that file.
func TestARelativePathSurvivesAChangeOfDirectory(t *testing.T) {
	ctx := context.Background()
	t.Chdir(t.TempDir())
	s := openStore(t, "cc.db")
	e, err := connector.New(s, connector.SenderFunc(func(context.Context, connector.Delivery) error { return nil }))
	require.NoError(t, err)
	require.NoError(t, e.Apply(ctx, multiprocess.Campaigns()))

	t.Chdir(t.TempDir())
	require.NoError(t, e.Track(ctx, event.Event{ID: "e1", UserID: "u1", Kind: event.PushReceived, CampaignID: "abandoned_cart"}))
	_, err = os.Stat("cc.db")
	require.True(t, errors.Is(err, os.ErrNotExist), "the store wrote no file in the new directory")
}

// The file is moved away while a write transaction runs (the store's
// update of a user, which can take a while): the transaction does not
// commit to the moved file, which no process opening the path would see;
// the write fails with ErrFileChanged. Moved back, the file has the
// writes before the move only, and takes writes again.
func TestAWriteFailsWhenTheFileMovesDuringIt(t *testing.T) {
	ctx := context.Background()
	path := testPath(t)
	s := openStore(t, path)
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	receive := func(campaign string, during func()) error {
		return s.Update(ctx, "", "ann", now, store.Dedup{}, func(u *store.UserState, _ bool) {
			during()
			u.Receipts = append(u.Receipts, store.Receipt{CampaignID: campaign, At: now})
		})
	}
	receipts := func() (got []string) {
		u, err := s.User(ctx, "", "ann")
		require.NoError(t, err)
		for _, r := range u.Receipts {
			got = append(got, r.CampaignID)
		}
		return got
	}
	require.NoError(t, receive("before", func() {}))

	moved := path + ".moved"
	err := receive("during", func() { require.NoError(t, os.Rename(path, moved)) })
	require.ErrorIs(t, err, sqlite.ErrFileChanged)
	require.NoError(t, os.Rename(moved, path))
	require.Equal(t, []string{"before"}, receipts(), "the write during the move was not committed")

	require.NoError(t, receive("after", func() {}), "the file back in place takes writes again")
	require.Equal(t, []string{"before", "after"}, receipts())
}
