package connector_test

import (
	"context"
	"testing"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/connectortest"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/stretchr/testify/require"
)

// TestRefusedLifecycleChangesSayWhy: a change the lifecycle does not allow
// names the operation and the campaign, and says in words why it is
// refused; errors.Is still finds ErrInvalidTransition.
func TestRefusedLifecycleChangesSayWhy(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		setup func(h *connectortest.Harness)
		do    func(e *connector.Engine) error
		want  string
	}{
		{"publish an active campaign", func(h *connectortest.Harness) { h.Publish("c") },
			func(e *connector.Engine) error { return e.Publish(ctx, "c") },
			`connector: publish "c": rule: the campaign is already active`},
		{"stop a stopped campaign", func(h *connectortest.Harness) { h.Publish("c"); h.Stop("c") },
			func(e *connector.Engine) error { return e.Stop(ctx, "c") },
			`connector: stop "c": rule: the campaign is already stopped`},
		{"stop a draft", func(h *connectortest.Harness) {},
			func(e *connector.Engine) error { return e.Stop(ctx, "c") },
			`connector: stop "c": rule: a draft cannot be stopped: it was never published`},
		{"archive an archived campaign", func(h *connectortest.Harness) { h.Archive("c") },
			func(e *connector.Engine) error { return e.Archive(ctx, "c") },
			`connector: archive "c": rule: the campaign is already archived`},
		{"publish an archived campaign", func(h *connectortest.Harness) { h.Archive("c") },
			func(e *connector.Engine) error { return e.Publish(ctx, "c") },
			`connector: publish "c": rule: the campaign is archived, which is final`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := connectortest.New(t)
			h.Save(rule.Campaign{ID: "c"})
			tc.setup(h)
			err := tc.do(h.Engine)
			require.EqualError(t, err, tc.want)
			require.ErrorIs(t, err, connector.ErrInvalidTransition)
		})
	}
}

// A lifecycle change of a campaign the store does not have names the
// campaign and the operation once, without repeating the package prefix.
func TestLifecycleChangeOfAnUnknownCampaign(t *testing.T) {
	ctx := context.Background()
	h := connectortest.New(t)
	for op, do := range map[string]func(string) error{
		"stop":    func(id string) error { return h.Engine.Stop(ctx, id) },
		"publish": func(id string) error { return h.Engine.Publish(ctx, id) },
		"archive": func(id string) error { return h.Engine.Archive(ctx, id) },
	} {
		err := do("nope")
		require.EqualError(t, err, `connector: unknown campaign "nope" (`+op+`)`)
		require.ErrorIs(t, err, connector.ErrUnknownCampaign)
	}
}
