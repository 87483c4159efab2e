package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/internal/multiprocess"
	"github.com/campaignconnector/campaignconnector/store/sqlite"
	"github.com/stretchr/testify/require"
)

// A path that goes up ("..") out of a symlinked directory names, for the
// kernel and for SQLite, the parent of the link's target, not the
// directory holding the link: "app/link/../cc.db" with app/link pointing
// at data/sub is data/cc.db. The check that the path still names the
// store's file must stat the file SQLite opened. Cleaned lexically
// (app/cc.db), it watched another file: the real one deleted went
// unnoticed, every write acknowledged and lost, and a file of that other
// name deleted failed every write although the store's file was intact.
func TestReviewFileCheckFollowsDotDotThroughASymlink(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	data := filepath.Join(root, "data")
	app := filepath.Join(root, "app")
	require.NoError(t, os.MkdirAll(filepath.Join(data, "sub"), 0o755))
	require.NoError(t, os.MkdirAll(app, 0o755))
	require.NoError(t, os.Symlink(filepath.Join(data, "sub"), filepath.Join(app, "link")))
	path := filepath.Join(app, "link") + string(filepath.Separator) + ".." + string(filepath.Separator) + "cc.db"
	real := filepath.Join(data, "cc.db")
	decoy := filepath.Join(app, "cc.db") // what a lexical Clean of path names

	engine := func(t *testing.T, s *sqlite.Store) *connector.Engine {
		e, err := connector.New(s, connector.SenderFunc(func(context.Context, connector.Delivery) error { return nil }))
		require.NoError(t, err)
		require.NoError(t, e.Apply(ctx, multiprocess.Campaigns()))
		return e
	}
	ev := func(id string) event.Event {
		return event.Event{ID: id, UserID: "u1", Kind: event.PushReceived, CampaignID: "abandoned_cart"}
	}

	t.Run("the file opened is deleted", func(t *testing.T) {
		s := openStore(t, path)
		_, err := os.Stat(real)
		require.NoError(t, err, "SQLite opened the file the kernel names")
		e := engine(t, s)
		require.NoError(t, e.Track(ctx, ev("before")))
		require.NoError(t, os.Remove(real))
		require.ErrorIs(t, e.Track(ctx, ev("after")), sqlite.ErrFileChanged)
		require.NoError(t, s.Close())
		for _, suffix := range []string{"-wal", "-shm"} {
			_ = os.Remove(real + suffix)
		}
	})
	t.Run("another file of the cleaned name is deleted", func(t *testing.T) {
		require.NoError(t, os.WriteFile(decoy, []byte("not the store"), 0o644))
		s := openStore(t, path)
		e := engine(t, s)
		require.NoError(t, e.Track(ctx, ev("before")))
		require.NoError(t, os.Remove(decoy))
		require.NoError(t, e.Track(ctx, ev("after")), "the store's own file is intact")
	})
}
