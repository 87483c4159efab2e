package rule_test

import (
	"encoding/json"
	"testing"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/stretchr/testify/require"
)

// A float32 in a condition written in Go compares as the decimal it is
// written as, which is what a store keeping the definition as JSON
// (SQLite, PostgreSQL) reads back: a follow-up on purchases over
// float32(9.99) decides the same on every store, and a purchase of 9.99
// is not over it.
func TestFloat32ConditionsDecideAsOnEveryStore(t *testing.T) {
	values := []float32{9.99, 0.1, 1.5, 16777217, 3.4e38, 1e-7, -2.675}
	props := []any{9.99, 0.1, 1.5, 16777216.0, 16777217, 3.4e38, 1e-7, -2.675, json.Number("9.99"), float32(0.1), float32(9.99), 10, 0}
	ops := []rule.Operator{rule.OpEqual, rule.OpNotEqual, rule.OpLess, rule.OpLessOrEqual, rule.OpGreater, rule.OpGreaterOrEqual}
	for _, v := range values {
		for _, op := range ops {
			c := rule.Campaign{ID: "f", Triggers: []rule.Trigger{{Kind: event.Purchase,
				Where: []rule.Condition{{Property: "price", Op: op, Value: v}}}}}
			require.NoError(t, c.Validate())
			doc, err := json.Marshal(c)
			require.NoError(t, err)
			var stored rule.Campaign
			require.NoError(t, json.Unmarshal(doc, &stored))
			for _, p := range props {
				m := map[string]any{"price": p}
				require.Equal(t, stored.Triggers[0].Where[0].Eval(m), c.Triggers[0].Where[0].Eval(m),
					"price %v (%T) %s float32(%v): as given and as stored", p, p, op, v)
			}
		}
	}
	require.False(t, rule.Greater("price", float32(9.99)).Eval(map[string]any{"price": 9.99}))
	require.True(t, rule.Equal("price", float32(0.1)).Eval(map[string]any{"price": 0.1}))
}
