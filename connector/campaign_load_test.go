package connector_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
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

// loadSet returns n campaigns, originals before the follow-ups that name
// them: n/2 originals, each with a follow-up on its opens that a click on
// it cancels; with fanout, one original, "o", and n-1 follow-ups on it.
func loadSet(n int, fanout bool) []rule.Campaign {
	out := make([]rule.Campaign, 0, n)
	if fanout {
		out = append(out, rule.Campaign{ID: "o"})
	}
	for i := range n - len(out) {
		o, f := fmt.Sprintf("o%05d", i/2), fmt.Sprintf("f%05d", i/2)
		if fanout {
			o, f = "o", fmt.Sprintf("f%05d", i)
		} else if i%2 == 0 {
			out = append(out, rule.Campaign{ID: o})
			continue
		}
		out = append(out, rule.Campaign{ID: f, Delay: rule.After(time.Hour),
			Triggers:   []rule.Trigger{{Kind: event.EmailOpened, CampaignID: o}},
			Exceptions: []rule.Exception{{Kind: event.EmailClicked, CampaignID: o}}})
	}
	return out
}

// saveAndPublish saves each campaign of cs in turn, then publishes each:
// the follow-ups first, so that no interaction with an original is lost.
func saveAndPublish(tb testing.TB, e *connector.Engine, cs []rule.Campaign) {
	tb.Helper()
	ctx := context.Background()
	for _, c := range cs {
		if err := e.Save(ctx, c); err != nil {
			tb.Fatal(err)
		}
	}
	for _, followUps := range []bool{true, false} {
		for _, c := range cs {
			if c.IsFollowUp() != followUps {
				continue
			}
			if err := e.Publish(ctx, c.ID); err != nil {
				tb.Fatal(err)
			}
		}
	}
}

// TestOwnCampaignChangesDoNotRereadTheStore saves, publishes, edits,
// stops and archives campaigns through one engine: it reads the store's
// campaigns once, when it starts, and its snapshot keeps up with its own
// changes (a follow-up published last triggers; a stopped one does not).
// A change made by another engine is read from the store.
func TestOwnCampaignChangesDoNotRereadTheStore(t *testing.T) {
	ctx := context.Background()
	s := &countingStore{Store: store.NewMemory()}
	clk := clock.NewMock()
	clk.Set(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	e, err := connector.New(s, noop, connector.WithClock(clk))
	if err != nil {
		t.Fatal(err)
	}
	set := loadSet(400, false)
	saveAndPublish(t, e, set)
	edited := set[1]
	edited.Delay = rule.After(2 * time.Hour)
	if err := e.Save(ctx, edited); err != nil {
		t.Fatal(err)
	}
	if err := e.Stop(ctx, "f00001"); err != nil {
		t.Fatal(err)
	}
	if err := e.Archive(ctx, "f00002"); err != nil {
		t.Fatal(err)
	}
	if n := s.reads.Load(); n != 1 {
		t.Fatalf("the engine read the store's campaigns %d times for its own %d changes, want once (at New)", n, 2*len(set)+3)
	}

	for i := range 3 { // f00000 (edited) triggers; f00001 (stopped) and f00002 (archived) do not
		ev := event.Event{ID: fmt.Sprint("ev", i), UserID: "u", Kind: event.EmailOpened, CampaignID: fmt.Sprintf("o%05d", i), Time: clk.Now()}
		if err := e.Track(ctx, ev); err != nil {
			t.Fatal(err)
		}
		st, err := s.Stats(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		if st.Pending != 1 {
			t.Fatalf("after an open of o%05d: %d pending deliveries, want 1", i, st.Pending)
		}
	}
	u, err := s.User(ctx, "", "u")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := u.Pending[0].DueAt, clk.Now().Add(2*time.Hour); !got.Equal(want) {
		t.Fatalf("the edited follow-up is due at %s, want %s (its new delay)", got, want)
	}

	other, err := connector.New(s, noop, connector.WithClock(clk))
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Stop(ctx, "f00000"); err != nil {
		t.Fatal(err)
	}
	before := s.reads.Load()
	rec, err := e.Campaign(ctx, "f00000")
	if err != nil {
		t.Fatal(err)
	}
	if rec.State != rule.Stopped || s.reads.Load() != before+1 {
		t.Fatalf("after another engine stopped f00000: the engine sees it %s after %d reads, want stopped after one", rec.State, s.reads.Load()-before)
	}
}

// TestCampaignChangeAllocationsDoNotGrowWithTheSet edits, stops and
// publishes one follow-up among 40 campaigns, then among 2,000: the
// allocations of the change stay about the same, since the engine derives
// its new snapshot from the change alone (a rebuild allocates for every
// campaign).
func TestCampaignChangeAllocationsDoNotGrowWithTheSet(t *testing.T) {
	allocs := func(n int) float64 {
		ctx := context.Background()
		e, err := connector.New(store.NewMemory(), noop)
		if err != nil {
			t.Fatal(err)
		}
		set := loadSet(n, false)
		saveAndPublish(t, e, set)
		c := set[len(set)-1] // a follow-up
		delay := time.Hour
		return testing.AllocsPerRun(20, func() {
			delay += time.Minute
			c.Delay = rule.After(delay)
			if err := e.Save(ctx, c); err != nil {
				t.Fatal(err)
			}
			if err := e.Stop(ctx, c.ID); err != nil {
				t.Fatal(err)
			}
			if err := e.Publish(ctx, c.ID); err != nil {
				t.Fatal(err)
			}
		})
	}
	small, large := allocs(40), allocs(2000)
	if large > 1.5*small+10 {
		t.Fatalf("a change allocates %.0f times among 2,000 campaigns and %.0f times among 40: it grows with the set", large, small)
	}
}

// BenchmarkSaveAndPublish saves and publishes n campaigns one by one on a
// memory store, follow-ups before their originals ("pairs": each
// follow-up on its own original; "fanout": every follow-up on one
// original), then starts a second engine on the full store (New and its
// first Track). It reports the load's cost per campaign in wall time and
// in the process's CPU time (which other processes on a shared machine
// inflate less), and the start's: flat per campaign as n grows when a
// change costs what it changes.
func BenchmarkSaveAndPublish(b *testing.B) {
	for _, shape := range []string{"pairs", "fanout"} {
		for _, n := range []int{100, 1000, 10000} {
			set := loadSet(n, shape == "fanout")
			b.Run(fmt.Sprintf("%s/n=%d", shape, n), func(b *testing.B) {
				b.ReportAllocs()
				var load, loadCPU, start time.Duration
				for b.Loop() {
					s := store.NewMemory()
					e, err := connector.New(s, noop)
					if err != nil {
						b.Fatal(err)
					}
					t0, c0 := time.Now(), cpuTime()
					saveAndPublish(b, e, set)
					t1, c1 := time.Now(), cpuTime()
					loadTrack(b, s, set)
					load, loadCPU, start = load+t1.Sub(t0), loadCPU+c1-c0, start+time.Since(t1)
				}
				b.ReportMetric(float64(load.Nanoseconds())/float64(b.N*len(set)), "ns/campaign")
				b.ReportMetric(float64(loadCPU.Nanoseconds())/float64(b.N*len(set)), "cpu-ns/campaign")
				b.ReportMetric(float64(start.Nanoseconds())/float64(b.N), "ns/start")
			})
		}
	}
}

// loadTrack starts an engine on s, which holds set, and tracks its first
// event: a click on the original of set's first follow-up, which its
// exception listens to (a user with nothing pending: nothing to cancel).
func loadTrack(tb testing.TB, s store.Store, set []rule.Campaign) {
	tb.Helper()
	e, err := connector.New(s, noop)
	if err != nil {
		tb.Fatal(err)
	}
	ev := event.Event{ID: "ev", UserID: "u", Kind: event.EmailClicked, CampaignID: set[1].Triggers[0].CampaignID, Time: time.Now()}
	if err := e.Track(context.Background(), ev); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkApply applies n campaigns ("pairs", as BenchmarkSaveAndPublish)
// to an empty memory store, then applies them again from a second engine,
// as a restart does: ns/campaign and restart-ns/campaign.
func BenchmarkApply(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		set := loadSet(n, false)
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			ctx := context.Background()
			var first, again time.Duration
			for b.Loop() {
				s := store.NewMemory()
				e, err := connector.New(s, noop)
				if err != nil {
					b.Fatal(err)
				}
				t0 := time.Now()
				if err := e.Apply(ctx, set); err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				e2, err := connector.New(s, noop)
				if err != nil {
					b.Fatal(err)
				}
				if err := e2.Apply(ctx, set); err != nil {
					b.Fatal(err)
				}
				first, again = first+t1.Sub(t0), again+time.Since(t1)
			}
			b.ReportMetric(float64(first.Nanoseconds())/float64(b.N*n), "ns/campaign")
			b.ReportMetric(float64(again.Nanoseconds())/float64(b.N*n), "restart-ns/campaign")
		})
	}
}

// BenchmarkEngineStart starts an engine on a memory store that holds n
// active campaigns ("pairs", written to the store directly): New, which
// reads and indexes them, and the first Track.
func BenchmarkEngineStart(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		set := loadSet(n, false)
		s := store.NewMemory()
		for _, c := range set {
			_, err := s.UpdateCampaign(context.Background(), "", c.ID, func(rec *store.CampaignRecord, _ bool) error {
				*rec = store.CampaignRecord{Campaign: c.Clone(), State: rule.Active, Activation: 1}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				loadTrack(b, s, set)
			}
		})
	}
}
