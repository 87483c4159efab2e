package lifecyclekill

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
	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/store"
)

// A child makes one change on a store that stops the process after its
// n-th write has committed: the child says "blocked" and waits to be
// killed with SIGKILL, so that the parent kills it between two given
// writes. A child whose change ends before its n-th write says "finished"
// and exits.

const (
	// EnvChange is the environment variable that names the change a child
	// process makes: set, the child calls [RunChild].
	EnvChange = "CCMP_LIFECYCLE"

	envBlockAt = "CCMP_BLOCK_AT" // the write after which the child blocks
	envNow     = "CCMP_NOW"      // the child's mock clock, Unix nanoseconds
)

// Durable is a durable store with the optional interfaces that both the
// SQLite and the PostgreSQL store implement, which the engine looks for:
// the child's counting store passes them all on, and [store.OnceTallier]
// when the store implements it (PostgreSQL), so that its engine works as
// it does on the store itself.
type Durable interface {
	store.Store
	store.Notifier
	store.PendingCounter
	store.BatchUpdater
	store.Tallier
	store.PendingLister
	store.BatchCanceller
}

// ChildConfig is what a store's child process hands [RunChild].
type ChildConfig struct {
	// Store is the child's store, opened on the parent's database; the
	// caller closes it after RunChild returns.
	Store Durable
	// Sender records each send where [Child.Records] reads it, and
	// Observer each delivery the store recorded.
	Sender   connector.Sender
	Observer connector.Observer
	// Logger is the engine's logger.
	Logger *slog.Logger
	// Say writes a protocol line to the parent ([Child.Lines]).
	Say func(words ...string)
}

// RunChild makes the change [EnvChange] names, on cfg.Store counting its
// writes and blocking after the one the parent told it to.
func RunChild(t *testing.T, cfg ChildConfig) {
	ctx := context.Background()
	n, err := strconv.ParseInt(os.Getenv(envBlockAt), 10, 64)
	require.NoError(t, err)
	at, err := strconv.ParseInt(os.Getenv(envNow), 10, 64)
	require.NoError(t, err)
	clk := clock.NewMock()
	clk.Set(time.Unix(0, at).UTC())
	bs := &blockingStore{Durable: cfg.Store, blockAt: n, say: cfg.Say}
	var s store.Store = bs
	if once, ok := cfg.Store.(store.OnceTallier); ok {
		s = onceBlockingStore{bs, once}
	}
	e, err := connector.New(s, cfg.Sender, append(engineOptions(clk),
		connector.WithLogger(cfg.Logger), connector.WithObserver(cfg.Observer))...)
	require.NoError(t, err)
	cfg.Say("ready")
	err = makeChange(ctx, e, os.Getenv(EnvChange))
	cfg.Say("finished", fmt.Sprint(bs.writes.Load()), fmt.Sprint(err))
	require.NoError(t, e.FlushTallies(ctx))
}

// blockingStore counts the writes of the store it wraps and, once the
// blockAt-th has committed, says "blocked" and blocks for good: the
// parent kills the process there.
type blockingStore struct {
	Durable
	blockAt int64
	say     func(words ...string)
	writes  atomic.Int64
}

func (s *blockingStore) wrote(what string) {
	if s.writes.Add(1) == s.blockAt {
		s.say("blocked", what)
		select {}
	}
}

func (s *blockingStore) UpdateCampaign(ctx context.Context, ns, id string, fn func(*store.CampaignRecord, bool) error) (store.CampaignRecord, error) {
	rec, err := s.Durable.UpdateCampaign(ctx, ns, id, fn)
	s.wrote("update_campaign")
	return rec, err
}

func (s *blockingStore) CancelCampaign(ctx context.Context, ns, id string) ([]store.Claim, error) {
	out, err := s.Durable.CancelCampaign(ctx, ns, id)
	s.wrote("cancel_campaign")
	return out, err
}

// CancelCampaignBatch counts each batch as a write: a stop in the child
// cancels in batches, as on the store itself, and can be killed between
// two.
func (s *blockingStore) CancelCampaignBatch(ctx context.Context, ns, id, cursor string, limit int) ([]store.Claim, string, error) {
	out, next, err := s.Durable.CancelCampaignBatch(ctx, ns, id, cursor, limit)
	s.wrote("cancel_campaign_batch")
	return out, next, err
}

func (s *blockingStore) Update(ctx context.Context, ns, user string, now time.Time, d store.Dedup, fn func(*store.UserState, bool)) error {
	err := s.Durable.Update(ctx, ns, user, now, d, fn)
	s.wrote("update")
	return err
}

func (s *blockingStore) UpdateBatch(ctx context.Context, ns string, ops []store.Op) error {
	err := s.Durable.UpdateBatch(ctx, ns, ops)
	s.wrote("update_batch")
	return err
}

func (s *blockingStore) Claim(ctx context.Context, ns string, now time.Time, lease time.Duration, limit int, token uint64) ([]store.Claim, error) {
	out, err := s.Durable.Claim(ctx, ns, now, lease, limit, token)
	s.wrote("claim")
	return out, err
}

// onceBlockingStore is a blockingStore of a store that implements
// [store.OnceTallier], which it passes on.
type onceBlockingStore struct {
	*blockingStore
	once store.OnceTallier
}

func (s onceBlockingStore) AddTalliesOnce(ctx context.Context, ns, writer string, seq int64, tallies []store.Tally) error {
	return s.once.AddTalliesOnce(ctx, ns, writer, seq, tallies)
}

var _ store.OnceTallier = onceBlockingStore{}
