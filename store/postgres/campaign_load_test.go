package postgres_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/campaignconnector/campaignconnector/store/postgres"
	"github.com/stretchr/testify/require"
)

// countingStore counts the reads of every campaign record, and the
// campaign updates.
type countingStore struct {
	store.Store
	reads, updates atomic.Int64
}

func (s *countingStore) UpdateCampaign(ctx context.Context, ns, id string, fn func(*store.CampaignRecord, bool) error) (store.CampaignRecord, error) {
	s.updates.Add(1)
	return s.Store.UpdateCampaign(ctx, ns, id, fn)
}

func (s *countingStore) Campaigns(ctx context.Context, ns string) (int64, []store.CampaignRecord, error) {
	s.reads.Add(1)
	return s.Store.Campaigns(ctx, ns)
}

var dropSender = connector.SenderFunc(func(context.Context, connector.Delivery) error { return nil })

// loadSet returns n campaigns, originals before the follow-ups that name
// them: n/2 originals, each with a follow-up on its opens that a click on
// it cancels.
func loadSet(n int) []rule.Campaign {
	out := make([]rule.Campaign, 0, n)
	for i := range n / 2 {
		o := fmt.Sprintf("o%05d", i)
		out = append(out, rule.Campaign{ID: o}, rule.Campaign{ID: fmt.Sprintf("f%05d", i), Delay: rule.After(time.Hour),
			Triggers:   []rule.Trigger{{Kind: event.EmailOpened, CampaignID: o}},
			Exceptions: []rule.Exception{{Kind: event.EmailClicked, CampaignID: o}}})
	}
	return out
}

// saveAndPublish saves each campaign of cs in turn, then publishes each,
// the follow-ups first.
func saveAndPublish(tb testing.TB, e *connector.Engine, cs []rule.Campaign) {
	tb.Helper()
	ctx := context.Background()
	for _, c := range cs {
		require.NoError(tb, e.Save(ctx, c))
	}
	for _, followUps := range []bool{true, false} {
		for _, c := range cs {
			if c.IsFollowUp() == followUps {
				require.NoError(tb, e.Publish(ctx, c.ID))
			}
		}
	}
}

// An engine on PostgreSQL that saves and publishes campaigns reads the
// store's campaigns once, when it starts: its snapshot follows its own
// changes; a second engine on the same store sees every campaign.
func TestOwnCampaignChangesDoNotRereadPostgres(t *testing.T) {
	ctx := context.Background()
	s := &countingStore{Store: openStore(t, postgres.WithSchema(testSchema(t)))}
	e, err := connector.New(s, dropSender)
	require.NoError(t, err)
	set := loadSet(200)
	saveAndPublish(t, e, set)
	require.EqualValues(t, 1, s.reads.Load(), "reads of the store's campaigns for %d changes", 2*len(set))

	other, err := connector.New(s, dropSender)
	require.NoError(t, err)
	recs, err := other.Campaigns(ctx)
	require.NoError(t, err)
	require.Len(t, recs, len(set))
	for _, rec := range recs {
		require.Equal(t, rule.Active, rec.State, rec.Campaign.ID)
	}
}

// BenchmarkSaveAndPublish saves and publishes n campaigns one by one on
// PostgreSQL, then starts a second engine on the full store (New and its
// first Track). ns/campaign is the load's cost per campaign: flat as n
// grows when a change costs what it changes.
func BenchmarkSaveAndPublish(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		set := loadSet(n)
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			var load, start time.Duration
			for b.Loop() {
				s := openStore(b, postgres.WithSchema(testSchema(b)))
				e, err := connector.New(s, dropSender)
				require.NoError(b, err)
				t0 := time.Now()
				saveAndPublish(b, e, set)
				t1 := time.Now()
				e2, err := connector.New(s, dropSender)
				require.NoError(b, err)
				ev := event.Event{ID: "ev", UserID: "u", Kind: event.EmailClicked, CampaignID: set[0].ID, Time: time.Now()}
				require.NoError(b, e2.Track(context.Background(), ev))
				load, start = load+t1.Sub(t0), start+time.Since(t1)
			}
			b.ReportMetric(float64(load.Nanoseconds())/float64(b.N*len(set)), "ns/campaign")
			b.ReportMetric(float64(start.Nanoseconds())/float64(b.N), "ns/start")
		})
	}
}
