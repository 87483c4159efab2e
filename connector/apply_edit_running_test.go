package connector_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
)

// TestApplyEditOfARunningFollowUp: ann waits for "f" when Apply edits
// it. As docs/lifecycle.md says, an edit applies to future decisions:
// what was scheduled stays pending and goes out when due, whatever
// triggers, exceptions or audience the edit gives, except that an
// exception removed no longer cancels, and a send-time check (the
// audience re-check) uses the definition as it is at send time. Each
// ending leaves a decision.
func TestApplyEditOfARunningFollowUp(t *testing.T) {
	tests := []struct {
		name string
		set  []rule.Campaign
		// after runs once the edit is applied.
		after func(*traced)
		want  []string // ann's endings
		sent  bool
	}{
		{name: "made an original", set: []rule.Campaign{{ID: "o"}, {ID: "f"}},
			want: []string{"delivered/"}, sent: true},
		{name: "trigger moved to another original", set: []rule.Campaign{{ID: "o"}, {ID: "o2"}, {ID: "f", Delay: rule.After(time.Hour),
			Triggers: []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "o2"}}}},
			want: []string{"delivered/"}, sent: true},
		{name: "exception removed", set: sweepSet(func(c *rule.Campaign) { c.Exceptions = nil }),
			after: func(tr *traced) {
				require.NoError(t, tr.track(event.Event{ID: "p", UserID: "ann", Kind: event.Purchase}))
				require.EqualValues(t, 1, tr.e.EventCounts().Unheard, "a purchase no follow-up listens to any more")
			},
			want: []string{"delivered/"}, sent: true},
		{name: "exception changed", set: sweepSet(func(c *rule.Campaign) {
			c.Exceptions = []rule.Exception{{Kind: event.SessionStart}}
		}), after: func(tr *traced) {
			require.NoError(t, tr.track(event.Event{ID: "s", UserID: "ann", Kind: event.SessionStart}))
		}, want: []string{"cancelled/exception"}},
		{name: "delay made immediate", set: sweepSet(func(c *rule.Campaign) { c.Exceptions = nil; c.Delay = rule.Immediately() }),
			after: func(tr *traced) {
				tr.tickThrough(55 * time.Minute)
				require.Empty(t, tr.endings("ann"), "the pending delivery kept its due time")
			},
			want: []string{"delivered/"}, sent: true},
		{name: "audience added", set: sweepSet(func(c *rule.Campaign) { c.Audience = "vip" }),
			want: []string{"delivered/"}, sent: true},
		{name: "audience added with its re-check", set: sweepSet(func(c *rule.Campaign) { c.Audience = "vip"; c.RecheckAudience = true }),
			want: []string{"suppressed/not_in_audience"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var sent []string
			send := connector.SenderFunc(func(_ context.Context, d connector.Delivery) error {
				mu.Lock()
				defer mu.Unlock()
				sent = append(sent, d.UserID+" "+d.CampaignID)
				return nil
			})
			dir := &switchDir{}
			dir.set(func() (bool, error) { return false, nil }) // nobody is a vip
			tr := newTraced(t, nil, send, connector.WithDirectory(dir))
			tr.open("ann")
			tr.clk.Add(time.Minute)
			require.NoError(t, tr.e.Apply(tr.ctx, tc.set))
			if tc.after != nil {
				tc.after(tr)
			}
			tr.tickThrough(3 * time.Hour)
			require.Equal(t, tc.want, tr.endings("ann"))
			mu.Lock()
			defer mu.Unlock()
			if tc.sent {
				require.Equal(t, []string{"ann f"}, sent)
			} else {
				require.Empty(t, sent)
			}
			tr.requireNothingPending("ann")
		})
	}
}
