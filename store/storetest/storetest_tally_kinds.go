package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/stretchr/testify/require"
)

// testTallyQueryKinds checks the selection by decision kind, alone and
// with the selection by hour, by campaign and by a list of campaigns; a
// kind the rule package does not name, and one whose text reads as
// JSON or SQL, selected as any other; and the refusal of a kind no tally
// can have (empty, or not text).
func testTallyQueryKinds(t *testing.T, s store.Store, ns string) {
	ts := tallier(t, s)
	ctx := context.Background()
	const future rule.DecisionKind = "rerouted" // a kind of a later engine
	odd := rule.DecisionKind(`k"ind' ["x"]`)
	kinds := []rule.DecisionKind{rule.Scheduled, rule.Delivered, rule.Failed, rule.Retried, rule.Deferred, future, odd}
	var all []store.Tally
	for h := range 3 {
		for _, c := range []string{"", "a", "b", "c"} {
			for i, k := range kinds {
				all = append(all, tally(h, c, k, "", "", int64(100*h+10*len(c)+i+1)))
			}
		}
	}
	// Two reasons of one kind: each its own tally, both selected.
	all = append(all, tally(1, "a", rule.Failed, rule.ReasonSendError, "", 7))
	require.NoError(t, ts.AddTallies(ctx, ns, all))
	all = slices.SortedFunc(slices.Values(all), func(a, b store.Tally) int { return a.Key().Compare(b.Key()) })
	pick := func(keep func(store.Tally) bool) []store.Tally { return filterTallies(all, keep) }
	of := func(ks ...rule.DecisionKind) func(store.Tally) bool {
		return func(x store.Tally) bool { return slices.Contains(ks, x.Kind) }
	}
	trouble := []rule.DecisionKind{rule.Retried, rule.Failed, rule.Deferred}
	for _, tc := range []struct {
		name string
		q    store.TallyQuery
		want []store.Tally
	}{
		{"one kind", store.TallyQuery{Kinds: []rule.DecisionKind{rule.Failed}}, pick(of(rule.Failed))},
		{"some kinds", store.TallyQuery{Kinds: trouble}, pick(of(trouble...))},
		{"every kind listed", store.TallyQuery{Kinds: kinds}, all},
		{"an empty list selects every kind", store.TallyQuery{Kinds: []rule.DecisionKind{}}, all},
		{"a kind listed twice", store.TallyQuery{Kinds: []rule.DecisionKind{rule.Deferred, rule.Deferred}}, pick(of(rule.Deferred))},
		{"a kind without tallies", store.TallyQuery{Kinds: []rule.DecisionKind{rule.Converted}}, nil},
		{"a kind the rule package does not name", store.TallyQuery{Kinds: []rule.DecisionKind{future}}, pick(of(future))},
		{"a kind that reads as JSON", store.TallyQuery{Kinds: []rule.DecisionKind{odd, rule.Delivered}}, pick(of(odd, rule.Delivered))},
		{"kinds and hours", store.TallyQuery{Since: hour(1), Until: hour(2), Kinds: trouble},
			pick(func(x store.Tally) bool { return of(trouble...)(x) && x.Hour.Equal(hour(1)) })},
		{"kinds and a campaign", store.TallyQuery{CampaignID: "b", Kinds: trouble},
			pick(func(x store.Tally) bool { return of(trouble...)(x) && x.CampaignID == "b" })},
		{"kinds and the decisions about no campaign", store.TallyQuery{CampaignIDs: []string{""}, Kinds: []rule.DecisionKind{rule.Scheduled}},
			pick(func(x store.Tally) bool { return x.Kind == rule.Scheduled && x.CampaignID == "" })},
		{"kinds and some campaigns", store.TallyQuery{CampaignIDs: []string{"c", "a", "d"}, Since: hour(1), Kinds: trouble},
			pick(func(x store.Tally) bool {
				return of(trouble...)(x) && (x.CampaignID == "a" || x.CampaignID == "c") && !x.Hour.Before(hour(1))
			})},
		{"kinds and a campaign without tallies", store.TallyQuery{CampaignID: "d", Kinds: trouble}, nil},
		{"kinds and campaigns without tallies", store.TallyQuery{CampaignIDs: []string{"d", "e"}, Kinds: trouble}, nil},
		{"kinds and hours without tallies", store.TallyQuery{Since: hour(3), Kinds: trouble}, nil},
		{"a long list of kinds", store.TallyQuery{Kinds: manyKinds(rule.Failed, future)}, pick(of(rule.Failed, future))},
		{"a long list of kinds and a campaign", store.TallyQuery{CampaignID: "a", Kinds: manyKinds(rule.Failed)},
			pick(func(x store.Tally) bool { return x.Kind == rule.Failed && x.CampaignID == "a" })},
		{"a long list of kinds and some campaigns", store.TallyQuery{CampaignIDs: []string{"b", ""}, Since: hour(2), Kinds: manyKinds(rule.Deferred)},
			pick(func(x store.Tally) bool {
				return x.Kind == rule.Deferred && (x.CampaignID == "b" || x.CampaignID == "") && !x.Hour.Before(hour(2))
			})},
	} {
		requireTallies(t, tc.want, readTallies(t, ts, ns, tc.q), tc.name)
	}
	for _, q := range []store.TallyQuery{
		{Kinds: []rule.DecisionKind{rule.Failed, ""}},
		{Kinds: []rule.DecisionKind{rule.Failed, "\xff"}},
		{Kinds: []rule.DecisionKind{rule.Failed, "fai\x00led"}},
		{CampaignID: "a", Kinds: []rule.DecisionKind{rule.Failed, "\xef\xbf"}},
		{CampaignIDs: []string{"a"}, Kinds: []rule.DecisionKind{rule.Failed, ""}},
	} {
		name := fmt.Sprintf("kinds %q", q.Kinds)
		got, err := ts.Tallies(ctx, ns, q)
		require.ErrorIs(t, err, store.ErrInvalidQuery, "%s: got %v", name, got)
		var ve *rule.ValidationError
		require.ErrorAs(t, err, &ve, name)
		require.Equal(t, "kinds[1]", ve.Field, name)
	}
}

// manyKinds returns 1,000 kinds no tally has, with ks among them twice:
// a list long enough for a store to look kinds up otherwise than one by
// one.
func manyKinds(ks ...rule.DecisionKind) []rule.DecisionKind {
	out := make([]rule.DecisionKind, 0, 1000+2*len(ks))
	out = append(out, ks...)
	for i := range 1000 {
		out = append(out, rule.DecisionKind(fmt.Sprintf("none-%d", i)))
	}
	return append(out, ks...)
}
