package dashboard

import (
	"net/http"
	"strings"
	"testing"
)

// A pending delivery of a control-group member is held out when due, not
// sent: the pending list says so, rather than a bare "control group" a
// reader could take for an audience it is sent to.
func TestAHeldOutDeliveryIsListedAsSuch(t *testing.T) {
	f := populatedFake()
	f.mu.Lock()
	f.pending[0].Pending.Control = true
	id := f.pending[0].Pending.ID
	f.mu.Unlock()
	page := body(t, get(t, mustHandler(t, f), "/campaign?id=resend"), http.StatusOK)
	row := section(t, page, `data-delivery="`+id+`"`, "</tr>")
	if !strings.Contains(row, "to be held out (control group)") {
		t.Errorf("the held-out delivery's row does not say it is held out: %s", row)
	}
	other := section(t, page, `data-delivery="`+f.pending[1].Pending.ID+`"`, "</tr>")
	if strings.Contains(other, "held out") || !strings.Contains(other, "waiting") {
		t.Errorf("a delivery to send is listed as held out: %s", other)
	}
}
