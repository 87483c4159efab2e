package dashboard

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/rule"
)

// manyInTrouble is a fake with n follow-ups that each failed a send in
// the last hour and each raise a warning, the last of them failing most,
// and overdue deliveries: a sending service down for every campaign.
func manyInTrouble(n int) *fakeSource {
	f := newFake(fixtureNow)
	hour := fixtureNow.Truncate(time.Hour)
	for i := range n {
		id := fmt.Sprintf("fu-%05d", i)
		count := int64(1)
		if i == n-1 {
			count = 50
		}
		f.tallies = append(f.tallies, tally{Hour: hour, CampaignID: id, Kind: rule.Failed, Reason: rule.ReasonSendError, Count: count})
		f.warnings = append(f.warnings, connector.Warning{CampaignID: id, Reason: rule.ReasonDraftFollowUp, Detail: "a draft"})
	}
	// As the engine warns of them: about no one campaign.
	f.warnings = append(f.warnings, connector.Warning{Reason: rule.ReasonOverdueDeliveries, Detail: "3 deliveries overdue"})
	return f
}

// With thousands of follow-ups in trouble (every send failing while the
// sending service is down) and as many warnings, the health page, which
// reloads itself every few seconds, lists a bounded number of each: the
// follow-ups with the most failures and the overdue deliveries first,
// and says how many more there are.
func TestHealthPageBoundsItsTables(t *testing.T) {
	const n = 5000
	page := body(t, get(t, mustHandler(t, manyInTrouble(n)), "/health"), http.StatusOK)
	if got := strings.Count(page, "data-trouble="); got != healthRows {
		t.Errorf("%d follow-ups in trouble listed, want %d", got, healthRows)
	}
	if got := strings.Count(page, "<tr data-warning="); got != healthRows {
		t.Errorf("%d warnings listed, want %d", got, healthRows)
	}
	worst := fmt.Sprintf(`data-trouble="fu-%05d"`, n-1)
	if i, j := strings.Index(page, worst), strings.Index(page, "data-trouble="); i < 0 || i != j {
		t.Errorf("the follow-up with the most failures is not listed first")
	}
	if !strings.Contains(page, `data-warning="`+string(rule.ReasonOverdueDeliveries)+`"`) {
		t.Errorf("the overdue deliveries' warning is not listed")
	}
	for _, want := range []string{
		fmt.Sprintf(`<span data-trouble-more>%s</span> more follow-ups`, thousands(n-healthRows)),
		fmt.Sprintf(`<span data-warnings-more>%s</span> more warnings`, thousands(n+1-healthRows)),
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page does not say %q", want)
		}
	}
	if len(page) > 300_000 {
		t.Errorf("the page is %d bytes", len(page))
	}
}

// Under the bound, every follow-up in trouble and every warning is
// listed, and no line says there are more.
func TestHealthPageListsEveryRowUnderTheBound(t *testing.T) {
	page := body(t, get(t, mustHandler(t, manyInTrouble(3)), "/health"), http.StatusOK)
	if got := strings.Count(page, "data-trouble="); got != 3 {
		t.Errorf("%d follow-ups in trouble listed, want 3", got)
	}
	if got := strings.Count(page, "<tr data-warning="); got != 4 {
		t.Errorf("%d warnings listed, want 4", got)
	}
	if strings.Contains(page, "-more>") {
		t.Error("the page says there are more")
	}
}

// When every follow-up failed as often (a sending service down for all),
// those left out of the list have as many failed sends as those listed:
// the page does not call them fewer.
func TestHealthPageSaysWhatTheLeftOutFollowUpsHave(t *testing.T) {
	f := manyInTrouble(healthRows + 50)
	page := body(t, get(t, mustHandler(t, f), "/health"), http.StatusOK)
	more := section(t, page, "<span data-trouble-more>", "</p>")
	if strings.Contains(more, "fewer") {
		t.Errorf("the follow-ups left out, which failed as often as those listed, read as having fewer: %s", more)
	}
	if !strings.Contains(more, "none with more failed sends than the last one listed") {
		t.Errorf("the page does not say what the follow-ups left out have: %s", more)
	}
}
