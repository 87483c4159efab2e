package connector_test

import (
	"testing"

	"github.com/campaignconnector/campaignconnector/connector"
)

// A CampaignError a host builds itself (a fake engine, a test) may lack
// its Err: Error must still say which campaign, as TrackError does with
// no Err, instead of panicking inside fmt or a log call.
func TestCampaignErrorWithoutErr(t *testing.T) {
	for _, e := range []*connector.CampaignError{{}, {CampaignID: "resend"}} {
		want := `connector: campaign "` + e.CampaignID + `": <nil>`
		if got := e.Error(); got != want {
			t.Errorf("%#v.Error() = %q, want %q", e, got, want)
		}
		if e.Unwrap() != nil {
			t.Errorf("%#v.Unwrap() = %v, want nil", e, e.Unwrap())
		}
	}
}
