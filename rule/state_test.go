package rule_test

import (
	"testing"

	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/stretchr/testify/require"
)

func TestRefusedTransitionsSayWhy(t *testing.T) {
	for _, tc := range []struct {
		from, to rule.State
		want     string
	}{
		{rule.Active, rule.Active, "rule: the campaign is already active"},
		{rule.Stopped, rule.Stopped, "rule: the campaign is already stopped"},
		{rule.Archived, rule.Archived, "rule: the campaign is already archived"},
		{rule.Draft, rule.Draft, "rule: the campaign is already a draft"},
		{rule.Archived, rule.Active, "rule: the campaign is archived, which is final"},
		{rule.Archived, rule.Stopped, "rule: the campaign is archived, which is final"},
		{rule.Archived, rule.Draft, "rule: the campaign is archived, which is final"},
		{rule.Active, rule.Draft, "rule: a campaign cannot go back to draft"},
		{rule.Stopped, rule.Draft, "rule: a campaign cannot go back to draft"},
		{rule.Draft, rule.Stopped, "rule: a draft cannot be stopped: it was never published"},
		{"paused", rule.Active, "rule: invalid lifecycle transition: paused → active"},
	} {
		t.Run(string(tc.from)+" to "+string(tc.to), func(t *testing.T) {
			err := tc.from.Transition(tc.to)
			require.EqualError(t, err, tc.want)
			require.ErrorIs(t, err, rule.ErrInvalidTransition)
		})
	}
}
