package postgres_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/campaignconnector/campaignconnector/store/postgres"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
)

// replyCutter cuts, once armed, the next round trip in the extended
// protocol (a batch, not a ping) a pooled connection sends: the server gets it whole and runs it (the transaction's writes
// and COMMIT), its reply is read to the end and thrown away, and the
// client sees the connection close, as when a failover or a killed
// backend drops it between the commit and its reply.
type replyCutter struct {
	armed atomic.Bool
	cuts  atomic.Int64
}

// cutConn is a pooled connection replyCutter may cut.
type cutConn struct {
	net.Conn
	rc     *replyCutter
	pooled atomic.Bool // the pool's, not the store's listener
	drop   atomic.Bool // the next reply is thrown away
}

func (c *cutConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	// A ping (a simple query, 'Q') the pool may send first is let through.
	if err == nil && c.pooled.Load() && len(b) > 0 && b[0] != 'Q' && c.rc.armed.CompareAndSwap(true, false) {
		c.drop.Store(true)
	}
	return n, err
}

// Read throws the reply away up to its ReadyForQuery (after which the
// server has finished the round trip), closes the connection and reports
// its end.
func (c *cutConn) Read(b []byte) (int, error) {
	if !c.drop.Load() {
		return c.Conn.Read(b)
	}
	var head [5]byte
	for {
		if _, err := io.ReadFull(c.Conn, head[:]); err != nil {
			return 0, err
		}
		if _, err := io.CopyN(io.Discard, c.Conn, int64(binary.BigEndian.Uint32(head[1:]))-4); err != nil {
			return 0, err
		}
		if head[0] == 'Z' {
			break
		}
	}
	c.rc.cuts.Add(1)
	_ = c.Conn.Close()
	return 0, io.ErrUnexpectedEOF
}

// cutPool returns a pool of one connection at a time whose round trips rc
// can cut.
func cutPool(t *testing.T, rc *replyCutter) *pgxpool.Pool {
	cfg, err := pgxpool.ParseConfig(testDSN(t))
	require.NoError(t, err)
	cfg.MaxConns = 1
	cfg.ShouldPing = postgres.ShouldPing
	var d net.Dialer
	cfg.ConnConfig.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &cutConn{Conn: c, rc: rc}, nil
	}
	cfg.AfterConnect = func(_ context.Context, c *pgx.Conn) error {
		c.PgConn().Conn().(*cutConn).pooled.Store(true)
		return nil
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	return pool
}

// cutAfterFn is a PostgreSQL store whose Updates and UpdateBatches, once
// armed, arm rc while the engine's function runs: between their
// transaction's first round trip and the one that commits it.
type cutAfterFn struct {
	*postgres.Store
	rc  *replyCutter
	arm atomic.Bool
}

func (s *cutAfterFn) wrap(fn func(*store.UserState, bool)) func(*store.UserState, bool) {
	return func(u *store.UserState, dup bool) {
		fn(u, dup)
		if s.arm.CompareAndSwap(true, false) {
			s.rc.armed.Store(true)
		}
	}
}

func (s *cutAfterFn) Update(ctx context.Context, ns, userID string, now time.Time, dedup store.Dedup, fn func(*store.UserState, bool)) error {
	return s.Store.Update(ctx, ns, userID, now, dedup, s.wrap(fn))
}

func (s *cutAfterFn) UpdateBatch(ctx context.Context, ns string, ops []store.Op) error {
	for i := range ops {
		ops[i].Fn = s.wrap(ops[i].Fn)
	}
	return s.Store.UpdateBatch(ctx, ns, ops)
}

// Track and TrackAll whose COMMIT the server ran but whose reply the
// connection lost fail, saying which store call failed and that it may
// have committed, rather than report success: the host retries, and the retry finds the
// event IDs stored and schedules nothing twice.
func TestTrackWhoseCommitReplyIsLost(t *testing.T) {
	for _, all := range []bool{false, true} {
		t.Run(fmt.Sprintf("TrackAll=%v", all), func(t *testing.T) {
			ctx := context.Background()
			schema := testSchema(t)
			rc := &replyCutter{}
			pg, err := postgres.New(ctx, cutPool(t, rc), postgres.WithSchema(schema))
			require.NoError(t, err)
			t.Cleanup(pg.Close)
			s := &cutAfterFn{Store: pg, rc: rc}
			e, err := connector.New(s, connector.SenderFunc(func(context.Context, connector.Delivery) error { return nil }))
			require.NoError(t, err)
			require.NoError(t, e.Save(ctx, rule.Campaign{ID: "newsletter"}))
			require.NoError(t, e.Save(ctx, rule.Campaign{ID: "f", Triggers: []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "newsletter"}},
				Delay: rule.After(time.Hour), Message: []byte(`{}`)}))
			require.NoError(t, e.Publish(ctx, "newsletter"))
			require.NoError(t, e.Publish(ctx, "f"))
			track := func(evs ...event.Event) error {
				if all {
					return e.TrackAll(ctx, evs)
				}
				return e.Track(ctx, evs[0])
			}
			ev := func(user string) event.Event {
				return event.Event{ID: "rcv-" + user, UserID: user, Kind: event.EmailReceived, CampaignID: "newsletter", Time: time.Now()}
			}
			// The connection prepares the statements of such a transaction
			// first, so that the cut round trip is the one that commits.
			require.NoError(t, track(ev("warm")))

			s.arm.Store(true)
			err = track(ev("u"))
			require.Equal(t, int64(1), rc.cuts.Load(), "the round trip that commits was cut")
			require.Error(t, err, "a commit whose reply was lost reported success")
			require.ErrorContains(t, err, "postgres: update")
			require.ErrorContains(t, err, "the transaction may have committed")

			u, err := pg.User(ctx, "", "u")
			require.NoError(t, err)
			require.Len(t, u.Pending, 1, "the cut transaction committed")
			before, err := e.Stats(ctx)
			require.NoError(t, err)

			require.NoError(t, track(ev("u")), "the host's retry")
			u, err = pg.User(ctx, "", "u")
			require.NoError(t, err)
			require.Len(t, u.Pending, 1, "the retry scheduled the follow-up again")
			after, err := e.Stats(ctx)
			require.NoError(t, err)
			require.Equal(t, before.Events.Duplicates+1, after.Events.Duplicates, "the retry is a duplicate")
			require.Equal(t, before.Pending, after.Pending)
		})
	}
}

// A Claim whose reply is lost after its commit fails, saying that it may
// have committed: the deliveries it leased wait for the lease to end.
func TestClaimWhoseCommitReplyIsLost(t *testing.T) {
	ctx := context.Background()
	rc := &replyCutter{}
	schema := testSchema(t)
	// Scheduled through another store, whose wake-up notification goes
	// on a connection of its own pool.
	schedule(t, openStore(t, postgres.WithSchema(schema)), "ns", "u", "d", t0)
	s, err := postgres.New(ctx, cutPool(t, rc), postgres.WithSchema(schema))
	require.NoError(t, err)
	t.Cleanup(s.Close)
	cs, err := s.Claim(ctx, "ns", t0.Add(-time.Second), time.Minute, 10, 1) // prepares the statements
	require.NoError(t, err)
	require.Empty(t, cs)

	rc.armed.Store(true)
	_, err = s.Claim(ctx, "ns", t0, time.Minute, 10, 1)
	require.Equal(t, int64(1), rc.cuts.Load(), "the claim's round trip was cut")
	require.ErrorContains(t, err, "postgres: claim")
	require.ErrorContains(t, err, "the transaction may have committed")
	next, ok, err := s.NextDue(ctx, "ns")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, t0.Add(time.Minute), next, "the delivery is leased")

}
