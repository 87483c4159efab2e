package connector_test

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
	"github.com/campaignconnector/campaignconnector/connectortest"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/stretchr/testify/require"
)

// TestACappedDeliveryTakesNoRateLimitSlot: a delivery the frequency caps
// drop is not sent, so it leaves the follow-up's rate limit to the others.
func TestACappedDeliveryTakesNoRateLimitSlot(t *testing.T) {
	h := connectortest.New(t, connector.WithFrequencyCaps(connector.FrequencyCap{Max: 1, Channel: event.Email, Days: 1}))
	first := rule.Campaign{ID: "first", Channel: event.Email, Triggers: []rule.Trigger{{Kind: event.EmailClicked, CampaignID: "o"}}}
	followUp(h, func(c *rule.Campaign) { c.RateLimit, c.Delay = 2, rule.After(time.Hour) })
	h.Save(first)
	h.Publish("first")
	for i := range 4 { // capped: each already got an email today
		h.Track(event.Event{UserID: fmt.Sprintf("capped%d", i), Kind: event.EmailClicked, CampaignID: "o"})
	}
	h.Tick()
	require.Len(t, h.Sent(), 4)
	for i := range 4 {
		h.Track(opened(fmt.Sprintf("capped%d", i)))
	}
	h.Advance(time.Second)
	h.Track(opened("a"), opened("b"))
	h.Advance(time.Hour - time.Second) // the capped users' deliveries fall due
	h.RequireReason("capped0", "f", rule.Suppressed, rule.ReasonFrequencyCapped)
	h.Advance(time.Second) // a's and b's, in the same minute
	h.RequireSentAt("a", "f", connectortest.Start.Add(time.Hour+time.Second))
	h.RequireSentAt("b", "f", connectortest.Start.Add(time.Hour+time.Second))
}

// hookedStore calls onUser after each User call, and counts Take calls.
type hookedStore struct {
	store.Store
	onUser func()
	takes  atomic.Int64
}

func (s *hookedStore) User(ctx context.Context, ns, userID string) (store.UserState, error) {
	u, err := s.Store.User(ctx, ns, userID)
	if s.onUser != nil {
		s.onUser()
	}
	return u, err
}

func (s *hookedStore) Take(ctx context.Context, ns, key string, limit int64, now, expires time.Time) (bool, error) {
	s.takes.Add(1)
	return s.Store.Take(ctx, ns, key, limit, now, expires)
}

// TestADeliveryTheCapsLetGoAfterAllTakesItsSlotFirst: a rate-limited
// delivery that the caps dropped before its slot (another send to the user
// was in flight), and let go at the last check (that send failed
// meanwhile), takes its slot before it is sent.
func TestADeliveryTheCapsLetGoAfterAllTakesItsSlotFirst(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewMock()
	clk.Set(connectortest.Start)
	mem := &hookedStore{Store: store.NewMemory()}
	inSend, fail := make(chan struct{}), make(chan struct{})
	var mu sync.Mutex
	var sent []string
	sender := connector.SenderFunc(func(_ context.Context, d connector.Delivery) error {
		if d.CampaignID == "mail" {
			close(inSend)
			<-fail
			return errors.New("provider down")
		}
		mu.Lock()
		sent = append(sent, d.CampaignID)
		mu.Unlock()
		return nil
	})
	caps := connector.WithFrequencyCaps(connector.FrequencyCap{Max: 1, Window: 24 * time.Hour})
	a := newEngine(t, mem, sender, clk, caps)
	b := newEngine(t, mem, sender, clk, caps)
	require.NoError(t, a.Apply(ctx, []rule.Campaign{{ID: "o"},
		{ID: "mail", Triggers: []rule.Trigger{{Kind: event.EmailClicked, CampaignID: "o"}}},
		{ID: "f", RateLimit: 1, Delay: rule.After(time.Second), Triggers: []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "o"}}}}))
	require.NoError(t, a.Track(ctx, event.Event{UserID: "u", Kind: event.EmailClicked, CampaignID: "o"}))
	require.NoError(t, a.Track(ctx, event.Event{UserID: "u", Kind: event.EmailOpened, CampaignID: "o"}))
	done := make(chan error)
	go func() {
		_, err := a.Tick(ctx) // sends "mail", and waits in the sender
		done <- err
	}()
	<-inSend
	clk.Add(time.Second)
	var once sync.Once
	var aErr error
	mem.onUser = func() { // after b read u's state, with "mail" in flight
		once.Do(func() {
			close(fail)
			aErr = <-done
		})
	}
	_, err := b.Tick(ctx)
	require.NoError(t, err)
	require.NoError(t, aErr)
	mem.onUser = nil
	_, err = b.Tick(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"f"}, sent)
	require.Equal(t, int64(1), mem.takes.Load(), "slots taken")
}
