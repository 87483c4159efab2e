package connector_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// FuzzApplyJSON applies a set of campaigns read from a JSON array, as a
// campaigns-as-code file holds them, to an engine that already has an
// active campaign "stored" and a stopped one "old". Apply never panics.
// When it fails, every problem is a *CampaignError (or ErrEmptySet) and
// nothing changed. When it succeeds, every campaign of the set is stored
// with its definition, active (or "old" left stopped under KeepStopped),
// and applying the same set again changes nothing.
func FuzzApplyJSON(f *testing.F) {
	for _, s := range []string{
		`[{"id":"newsletter"},{"id":"resend","triggers":[{"kind":"email_received","campaign_id":"newsletter"}],"delay":{"after":"168h"},"exceptions":[{"kind":"email_opened","campaign_id":"newsletter"}]}]`,
		`[{"id":"a","triggers":[{"kind":"email_received","campaign_id":"b"}]},{"id":"b","triggers":[{"kind":"email_received","campaign_id":"a"}]}]`,
		`[{"id":"f","triggers":[{"kind":"email_opened","campaign_id":"stored"}],"message":{"n":1.50,"s":"x"}},{"id":"old"}]`,
		`[{"id":"stored","message":{"subject":"changed"}},{"id":"x","triggers":[{"kind":"email_opened","campaign_id":"nowhere"}]}]`,
		`[{"id":"dup"},{"id":"dup"}]`, `[{"id":""}]`, `[]`, `[{"id":"stored"}]`,
		`[{"id":"c","triggers":[{"kind":"purchase","where":[{"property":"p","op":"gt","value":1e400}]}],"end":"2000-01-01T00:00:00Z"}]`,
	} {
		f.Add([]byte(s), uint8(0))
		f.Add([]byte(s), uint8(3))
	}
	f.Fuzz(func(t *testing.T, data []byte, opts uint8) {
		var raws []json.RawMessage
		if json.Unmarshal(data, &raws) != nil {
			return
		}
		set := make([]rule.Campaign, len(raws))
		for i, raw := range raws {
			if json.Unmarshal(raw, &set[i]) != nil {
				return // the decoding is FuzzCampaignJSON's
			}
		}
		var applyOpts []connector.ApplyOption
		if opts&1 != 0 {
			applyOpts = append(applyOpts, connector.StopOthers())
		}
		if opts&2 != 0 {
			applyOpts = append(applyOpts, connector.KeepStopped())
		}
		ctx := context.Background()
		s := store.NewMemory()
		e, err := connector.New(s, connector.SenderFunc(func(context.Context, connector.Delivery) error { return nil }),
			connector.WithNamespace("ns"))
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{"stored", "old"} {
			if err := e.Save(ctx, rule.Campaign{ID: id}); err != nil {
				t.Fatal(err)
			}
			if err := e.Publish(ctx, id); err != nil {
				t.Fatal(err)
			}
		}
		if err := e.Stop(ctx, "old"); err != nil {
			t.Fatal(err)
		}
		before := revision(t, s)
		if err := e.Apply(ctx, set, applyOpts...); err != nil {
			for _, leaf := range leavesOf(err) {
				var ce *connector.CampaignError
				if !errors.As(leaf, &ce) && !errors.Is(leaf, connector.ErrEmptySet) {
					t.Fatalf("Apply: problem %T %v is no CampaignError", leaf, leaf)
				}
			}
			if after := revision(t, s); after != before {
				t.Fatalf("Apply failed (%v) but changed the store: revision %d, then %d", err, before, after)
			}
			return
		}
		for _, c := range set {
			rec, err := e.Campaign(ctx, c.ID)
			if err != nil {
				t.Fatalf("campaign %q applied but not stored: %v", c.ID, err)
			}
			want := rule.Active
			if c.ID == "old" && opts&2 != 0 {
				want = rule.Stopped
			}
			if rec.State != want {
				t.Fatalf("campaign %q applied is %v, want %v", c.ID, rec.State, want)
			}
			if got, want := canonical(t, &rec.Campaign), canonical(t, &c); !bytes.Equal(got, want) {
				t.Fatalf("campaign %q stored as\n%s\nwant\n%s", c.ID, got, want)
			}
		}
		applied := revision(t, s)
		if err := e.Apply(ctx, set, applyOpts...); err != nil {
			t.Fatalf("the same set, applied again: %v", err)
		}
		if again := revision(t, s); again != applied {
			t.Fatalf("the same set, applied again, changed the store: revision %d, then %d", applied, again)
		}
	})
}

// revision returns the namespace's campaign revision.
func revision(t *testing.T, s store.Store) int64 {
	t.Helper()
	r, err := s.Revision(context.Background(), "ns")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// canonical returns c's JSON form after one round trip through it.
func canonical(t *testing.T, c *rule.Campaign) []byte {
	t.Helper()
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatalf("campaign %q: %v", c.ID, err)
	}
	var back rule.Campaign
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("campaign %q: %v", c.ID, err)
	}
	if b, err = json.Marshal(&back); err != nil {
		t.Fatalf("campaign %q: %v", c.ID, err)
	}
	return b
}

// leavesOf returns the errors err joins, err itself when it joins none.
func leavesOf(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, leavesOf(e)...)
		}
		return out
	}
	return []error{err}
}
