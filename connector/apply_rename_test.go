package connector_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// TestApplyRenameIsANewCampaign: a campaign's ID is what Apply knows it
// by, so a set that renames "resend" to "resend-v2" holds a new campaign
// and leaves out the old one. Without StopOthers both stay active: ann,
// whose receipt came before the rename, gets the old resend, and bob,
// whose receipt came after, gets both. With StopOthers the old one is
// stopped and its pending deliveries cancelled, and the new one counts
// only the interactions from its publication on: ann gets neither.
func TestApplyRenameIsANewCampaign(t *testing.T) {
	for _, stopOthers := range []bool{false, true} {
		t.Run(map[bool]string{false: "alone", true: "StopOthers"}[stopOthers], func(t *testing.T) {
			ctx := context.Background()
			clk := applyClock()
			var mu sync.Mutex
			got := map[string][]string{}
			send := connector.SenderFunc(func(_ context.Context, d connector.Delivery) error {
				mu.Lock()
				defer mu.Unlock()
				got[d.UserID] = append(got[d.UserID], d.CampaignID)
				return nil
			})
			e := newEngine(t, store.NewMemory(), send, clk)
			require.NoError(t, e.Apply(ctx, resendCampaigns))
			received := func(user string) event.Event {
				return event.Event{ID: "r-" + user, UserID: user, Kind: event.EmailReceived, CampaignID: "newsletter", Time: clk.Now()}
			}
			require.NoError(t, e.Track(ctx, received("ann")))

			clk.Add(time.Hour)
			renamed := resendCampaigns[1]
			renamed.ID = "resend-v2"
			var opts []connector.ApplyOption
			if stopOthers {
				opts = append(opts, connector.StopOthers())
			}
			require.NoError(t, e.Apply(ctx, []rule.Campaign{resendCampaigns[0], renamed}, opts...))
			clk.Add(time.Second)
			require.NoError(t, e.Track(ctx, received("bob")))

			clk.Add(8 * 24 * time.Hour)
			_, err := e.Tick(ctx)
			require.NoError(t, err)
			want := map[string][]string{"ann": {"resend"}, "bob": {"resend", "resend-v2"}}
			if stopOthers {
				want = map[string][]string{"bob": {"resend-v2"}}
			}
			for _, list := range got {
				slices.Sort(list)
			}
			require.Equal(t, want, got)
		})
	}
}
