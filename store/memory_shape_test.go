package store

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
)

// TestDeliveriesDifferingInOneShapeFieldKeepIt: deliveries stored one
// after the other in one shard, each differing from the one before in a
// single field of what deliveries share (follow-up, activation, trigger
// kind, trigger campaign), come back each with its own values.
func TestDeliveriesDifferingInOneShapeFieldKeepIt(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	m := NewMemory()
	base := Pending{CampaignID: "f", Activation: 1, Trigger: event.Event{UserID: "u", Kind: event.PushReceived, CampaignID: "o", Time: at},
		DueAt: at.Add(time.Hour), ReadyAt: at.Add(time.Hour)}
	var want []Pending
	for i, change := range []func(*Pending){
		func(p *Pending) {},
		func(p *Pending) { p.Activation = 2 },
		func(p *Pending) { p.Trigger.Kind = event.EmailReceived },
		func(p *Pending) { p.Trigger.CampaignID = "o2" },
		func(p *Pending) { p.CampaignID = "g" },
		func(p *Pending) { p.Activation = 1 << 40 },
		func(p *Pending) {},
	} {
		p := base
		change(&p)
		p.ID = string(rune('a' + i))
		want = append(want, p)
		if err := m.Update(ctx, "", "u", at, Dedup{}, func(u *UserState, _ bool) {
			q := p
			u.Pending = append(u.Pending, &q)
		}); err != nil {
			t.Fatal(err)
		}
	}
	st, err := m.User(ctx, "", "u")
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Pending) != len(want) {
		t.Fatalf("%d deliveries, want %d", len(st.Pending), len(want))
	}
	for i, p := range st.Pending {
		if !reflect.DeepEqual(*p, want[i]) {
			t.Errorf("delivery %d:\n got %+v\nwant %+v", i, *p, want[i])
		}
	}
}
