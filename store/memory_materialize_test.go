package store

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
)

// fillAll sets every settable field reachable in v (structs, strings,
// numbers, booleans, maps, time.Time) to a non-zero value.
func fillAll(v reflect.Value) {
	switch v.Kind() {
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			v.Set(reflect.ValueOf(time.Date(1999, 1, 2, 3, 4, 5, 6, time.Local)))
			return
		}
		for i := range v.NumField() {
			if v.Field(i).CanSet() {
				fillAll(v.Field(i))
			}
		}
	case reflect.String:
		v.SetString("stale")
	case reflect.Int, reflect.Int64:
		v.SetInt(-7)
	case reflect.Uint64:
		v.SetUint(7)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
		v.SetMapIndex(reflect.ValueOf("stale"), reflect.ValueOf(any(1)))
	}
}

// TestMaterializeOverwritesEverything checks that materialize, which
// writes a Pending field by field, leaves nothing of what the Pending held
// before: filled with stale values in every field (those added later too),
// it must come out equal to one materialized into a zero Pending.
func TestMaterializeOverwritesEverything(t *testing.T) {
	m := NewMemory()
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	for _, p := range []Pending{
		// Compact: no extra record.
		{ID: "d1", CampaignID: "f", Activation: 2, Trigger: event.Event{ID: "e1", UserID: "u1", Kind: event.PushReceived, CampaignID: "orig", Time: at},
			DueAt: at.Add(time.Hour), ReadyAt: at.Add(time.Hour), Attempt: 1, Token: 9, Sending: true},
		// With an extra record: properties, a large activation and attempt.
		{ID: "d2", CampaignID: "f", Activation: 1 << 40, Trigger: event.Event{UserID: "u1", Kind: event.CustomEvent, Name: "n", Properties: map[string]any{"k": "v"}, Time: at},
			DueAt: at.Add(time.Hour), ReadyAt: at.Add(time.Hour), Attempt: 1 << 20, Control: true},
	} {
		err := m.Update(context.Background(), "", "u1", at, Dedup{}, func(u *UserState, _ bool) {
			q := p
			u.Pending = []*Pending{&q}
		})
		if err != nil {
			t.Fatal(err)
		}
		sp := m.space("")
		sh := m.shard(sp, "u1")
		u := sh.users.get("u1", hashID("u1"))
		var clean, stale Pending
		fillAll(reflect.ValueOf(&stale).Elem())
		sh.materialize(&u.first, u.id(), &clean)
		sh.materialize(&u.first, u.id(), &stale)
		if !reflect.DeepEqual(clean, stale) {
			t.Errorf("materialize left stale fields:\nclean %+v\nstale %+v", clean, stale)
		}
		if !reflect.DeepEqual(clean, p) {
			t.Errorf("materialized %+v\nwant %+v", clean, p)
		}
	}
}

// TestRemovePending checks that removing a delivery keeps the others in
// order and leaves no pointer to it in the array's unused tail.
func TestRemovePending(t *testing.T) {
	for n := 1; n <= 4; n++ {
		for i := range n {
			var u UserState
			for k := range n {
				u.Pending = append(u.Pending, &Pending{ID: string(rune('a' + k))})
			}
			full := u.Pending[:n]
			u.RemovePending(i)
			var got, want []string
			for _, p := range u.Pending {
				got = append(got, p.ID)
			}
			for k := range n {
				if k != i {
					want = append(want, string(rune('a'+k)))
				}
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("n=%d remove %d: %v, want %v", n, i, got, want)
			}
			if full[n-1] != nil {
				t.Errorf("n=%d remove %d: the array still holds %s past the end", n, i, full[n-1].ID)
			}
		}
	}
}
