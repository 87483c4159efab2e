package postgres_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/campaignconnector/campaignconnector/store/postgres"
	"github.com/stretchr/testify/require"
)

// The lifecycle crash tests run one lifecycle change (an Apply, a Stop,
// an Archive, a Publish with a backfill, a Tick that sends) in a child
// process whose store stops the process after its n-th write has
// committed: the child says "blocked" and waits to be killed with
// SIGKILL, so that the parent kills it between two given writes. A child
// whose change ends before its n-th write says "finished" and exits.

const (
	envLifecycle = "CCMP_LIFECYCLE" // the change the child makes (lcChange)
	envBlockAt   = "CCMP_BLOCK_AT"  // the write after which it blocks
	envNow       = "CCMP_NOW"       // the child's mock clock, Unix nanoseconds
)

// runLifecycleChild makes the change envLifecycle names, on a store that
// blocks after its envBlockAt-th write.
func runLifecycleChild(t *testing.T, change string) {
	ctx := context.Background()
	n, err := strconv.ParseInt(os.Getenv(envBlockAt), 10, 64)
	require.NoError(t, err)
	at, err := strconv.ParseInt(os.Getenv(envNow), 10, 64)
	require.NoError(t, err)
	clk := clock.NewMock()
	clk.Set(time.Unix(0, at).UTC())
	f, err := os.OpenFile(os.Getenv(envSends), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	require.NoError(t, err)
	defer f.Close()
	rec := &fileSender{f: f}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	s, err := postgres.Open(ctx, testDSN(t), postgres.WithSchema(os.Getenv(envSchema)), postgres.WithLogger(logger))
	require.NoError(t, err)
	defer s.Close()
	bs := &blockingStore{Store: s, blockAt: n}
	e, err := connector.New(bs, rec, append(lcOptions(clk),
		connector.WithNamespace(os.Getenv(envNamespace)), connector.WithLogger(logger),
		connector.WithObserver(connector.ObserverFunc(rec.observe)))...)
	require.NoError(t, err)
	say("ready")
	err = lcChange(ctx, e, change)
	say("finished", fmt.Sprint(bs.writes.Load()), fmt.Sprint(err))
	require.NoError(t, e.FlushTallies(ctx))
}

// blockingStore counts the writes of the store it wraps and, once the
// blockAt-th has committed, says "blocked" and blocks for good: the
// parent kills the process there.
type blockingStore struct {
	*postgres.Store
	blockAt int64
	writes  atomic.Int64
}

func (s *blockingStore) wrote(what string) {
	if s.writes.Add(1) == s.blockAt {
		say("blocked", what)
		select {}
	}
}

func (s *blockingStore) UpdateCampaign(ctx context.Context, ns, id string, fn func(*store.CampaignRecord, bool) error) (store.CampaignRecord, error) {
	rec, err := s.Store.UpdateCampaign(ctx, ns, id, fn)
	s.wrote("update_campaign")
	return rec, err
}

func (s *blockingStore) CancelCampaign(ctx context.Context, ns, id string) ([]store.Claim, error) {
	out, err := s.Store.CancelCampaign(ctx, ns, id)
	s.wrote("cancel_campaign")
	return out, err
}

func (s *blockingStore) Update(ctx context.Context, ns, user string, now time.Time, d store.Dedup, fn func(*store.UserState, bool)) error {
	err := s.Store.Update(ctx, ns, user, now, d, fn)
	s.wrote("update")
	return err
}

func (s *blockingStore) UpdateBatch(ctx context.Context, ns string, ops []store.Op) error {
	err := s.Store.UpdateBatch(ctx, ns, ops)
	s.wrote("update_batch")
	return err
}

func (s *blockingStore) Claim(ctx context.Context, ns string, now time.Time, lease time.Duration, limit int, token uint64) ([]store.Claim, error) {
	out, err := s.Store.Claim(ctx, ns, now, lease, limit, token)
	s.wrote("claim")
	return out, err
}
