package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/campaignconnector/campaignconnector/store/postgres"
	"github.com/stretchr/testify/require"
)

// flakyTallies is a PostgreSQL store whose every third tally call fails:
// every sixth before it reaches the server, the others after the server
// added the counts (the reply is lost).
type flakyTallies struct {
	*postgres.Store
	calls atomic.Int64
}

var errFlaky = errors.New("tallies: connection reset")

func (s *flakyTallies) flaky(add func() error) error {
	n := s.calls.Add(1)
	if n%3 != 0 {
		return add()
	}
	if n%6 == 0 {
		return errFlaky
	}
	if err := add(); err != nil {
		return err
	}
	return errFlaky
}

func (s *flakyTallies) AddTallies(ctx context.Context, ns string, ts []store.Tally) error {
	return s.flaky(func() error { return s.Store.AddTallies(ctx, ns, ts) })
}

func (s *flakyTallies) AddTalliesOnce(ctx context.Context, ns, writer string, seq int64, ts []store.Tally) error {
	return s.flaky(func() error { return s.Store.AddTalliesOnce(ctx, ns, writer, seq, ts) })
}

// Two engines on one schema track users at once while both read the
// tallies (their dashboards) and their flushes fail now and then, some
// after the server added the counts: once each engine has flushed, the
// stored counts are exactly the decisions taken, none lost to a failed
// flush and none added twice.
func TestTwoEnginesCountExactlyThroughFailedFlushes(t *testing.T) {
	schema := testSchema(t)
	clk := clock.NewMock()
	clk.Set(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	ctx := context.Background()
	var engines []*connector.Engine
	for range 2 {
		s := &flakyTallies{Store: openStore(t, postgres.WithSchema(schema))}
		e, err := connector.New(s, connector.SenderFunc(func(context.Context, connector.Delivery) error { return nil }),
			connector.WithClock(clk))
		require.NoError(t, err)
		engines = append(engines, e)
	}
	require.NoError(t, engines[0].Save(ctx, rule.Campaign{ID: "news"}))
	require.NoError(t, engines[0].Save(ctx, rule.Campaign{ID: "resend", Delay: rule.After(time.Hour),
		Triggers:   []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "news"}},
		Exceptions: []rule.Exception{{Kind: event.EmailOpened, CampaignID: "news"}}}))
	require.NoError(t, engines[0].Publish(ctx, "resend"))
	require.NoError(t, engines[0].Publish(ctx, "news"))

	const users, workers = 240, 4
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e := engines[w%2]
			for u := w; u < users; u += workers {
				user := fmt.Sprint("u", u)
				if err := e.Track(ctx, event.Event{ID: "rcv-" + user, UserID: user, Kind: event.EmailReceived, CampaignID: "news"}); err != nil {
					t.Error(err)
					return
				}
				if u%3 == 0 {
					if err := engines[(w+1)%2].Track(ctx, event.Event{ID: "open-" + user, UserID: user, Kind: event.EmailOpened, CampaignID: "news"}); err != nil {
						t.Error(err)
						return
					}
				}
				if u%10 == 0 {
					_, err := e.Tallies(ctx, store.TallyQuery{}) // a dashboard's read: its flush may fail
					if err != nil && !errors.Is(err, errFlaky) {
						t.Error(err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	var got []store.Tally
	for _, e := range engines {
		var err error
		for range 3 { // every third call fails: one of three in a row goes through
			if got, err = e.Tallies(ctx, store.TallyQuery{}); err == nil {
				break
			}
		}
		require.NoError(t, err)
	}
	// got is the second engine's read, after both flushed.
	counts := map[string]int64{}
	for _, x := range got {
		counts[fmt.Sprintf("%s %s %s", x.CampaignID, x.Kind, x.Reason)] += x.Count
	}
	require.Equal(t, map[string]int64{
		"resend scheduled ":          users,
		"resend cancelled exception": users / 3,
	}, counts)
}
