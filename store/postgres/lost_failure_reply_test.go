package postgres_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/campaignconnector/campaignconnector/store/postgres"
)

// lostBatchReply is a PostgreSQL store that, once armed, applies the next
// batch holding an op for user who and reports it failed, as when the
// connection drops between the commit and its reply.
type lostBatchReply struct {
	*postgres.Store
	who string

	mu          sync.Mutex
	armed, lost bool
}

var errLostBatchReply = errors.New("connection closed before the reply to the commit")

func (s *lostBatchReply) UpdateBatch(ctx context.Context, ns string, ops []store.Op) error {
	s.mu.Lock()
	lose := false
	for _, op := range ops {
		lose = lose || s.armed && op.UserID == s.who
	}
	if lose {
		s.armed, s.lost = false, true
	}
	s.mu.Unlock()
	if err := s.Store.UpdateBatch(ctx, ns, ops); err != nil || !lose {
		return err
	}
	for i := range ops {
		ops[i].Err = errLostBatchReply
	}
	return errLostBatchReply
}

// A failed send whose record PostgreSQL stored while the call reported an
// error is observed once as retried, on a clock at nanoseconds: the store
// keeps the retry's time rounded down to the microsecond.
func TestLostReplyOfAFailedSendIsObservedOnPostgres(t *testing.T) {
	schema := testSchema(t)
	clk := clock.NewMock()
	clk.Set(time.Date(2026, 3, 2, 9, 0, 0, 123456789, time.UTC))
	s := &lostBatchReply{Store: openStore(t, postgres.WithSchema(schema)), who: "u1"}
	var mu sync.Mutex
	observed := map[rule.DecisionKind]int{}
	sender := connector.SenderFunc(func(_ context.Context, d connector.Delivery) error {
		if d.UserID == "u1" && d.Attempt == 1 {
			s.mu.Lock()
			s.armed = !s.lost
			s.mu.Unlock()
			return errors.New("503 try later")
		}
		return nil
	})
	e, err := connector.New(s, sender, connector.WithClock(clk), connector.WithSendConcurrency(1),
		connector.WithDecisionLog(100, 24*time.Hour),
		connector.WithObserver(connector.ObserverFunc(func(d rule.Decision) {
			mu.Lock()
			defer mu.Unlock()
			if d.UserID == "u1" && d.Kind != rule.Scheduled {
				observed[d.Kind]++
			}
		})))
	require.NoError(t, err)
	ctx := context.Background()
	require.NoError(t, e.Save(ctx, rule.Campaign{ID: "o"}))
	require.NoError(t, e.Save(ctx, rule.Campaign{ID: "now", Triggers: []rule.Trigger{{Kind: event.PushOpened, CampaignID: "o"}}}))
	require.NoError(t, e.Publish(ctx, "now"))
	require.NoError(t, e.Publish(ctx, "o"))
	for _, u := range []string{"u0", "u1", "u2"} {
		require.NoError(t, e.Track(ctx, event.Event{UserID: u, Kind: event.PushOpened, CampaignID: "o"}))
	}
	_, err = e.Tick(ctx)
	require.NoError(t, err)
	require.True(t, s.lost, "a reply was lost")
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, map[rule.DecisionKind]int{rule.Retried: 1}, observed)
}
