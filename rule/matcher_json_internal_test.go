package rule

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/stretchr/testify/require"
)

// The wire form of triggers and exceptions carries every field they have:
// a trigger and an exception with every field set decode, alone and in a
// campaign, to what they were. A field added to Trigger and not to
// matcherJSON, or not copied from it, fails here rather than being
// refused as unknown or dropped from stored definitions.
func TestMatcherWireFormCarriesEveryField(t *testing.T) {
	full := Trigger{Kind: event.EmailClicked, CampaignID: "n", Target: "link", Name: "x",
		Where: []Condition{Equal("plan", json.Number("3"))}}
	v := reflect.ValueOf(full)
	for i := range v.NumField() {
		require.False(t, v.Field(i).IsZero(), "set %s in this test", v.Type().Field(i).Name)
	}
	b, err := json.Marshal(full)
	require.NoError(t, err)
	var tr Trigger
	require.NoError(t, json.Unmarshal(b, &tr))
	require.Equal(t, full, tr)
	var x Exception
	require.NoError(t, json.Unmarshal(b, &x))
	require.Equal(t, Exception(full), x)
	var c Campaign
	require.NoError(t, json.Unmarshal([]byte(`{"id":"c","triggers":[`+string(b)+`],"exceptions":[`+string(b)+`]}`), &c))
	require.Equal(t, []Trigger{full}, c.Triggers)
	require.Equal(t, []Exception{Exception(full)}, c.Exceptions)
	stored, err := DecodeStoredCampaign([]byte(`{"id":"c","triggers":[` + string(b) + `]}`))
	require.NoError(t, err)
	require.Equal(t, []Trigger{full}, stored.Triggers)
}
