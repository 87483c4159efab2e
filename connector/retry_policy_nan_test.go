package connector_test

import (
	"errors"
	"math"
	"testing"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/store"
)

// A NaN Jitter is not in [0, 1]: New refuses it, as RetryPolicy's doc
// says, instead of taking it for no jitter.
func TestRetryPolicyRefusesNaNJitter(t *testing.T) {
	r := connector.DefaultRetryPolicy
	r.Jitter = math.NaN()
	_, err := connector.New(store.NewMemory(), connector.SenderFunc(nil), connector.WithRetryPolicy(r))
	if !errors.Is(err, connector.ErrInvalidOption) {
		t.Fatalf("New with Jitter NaN: error %v, want one wrapping ErrInvalidOption", err)
	}
}
