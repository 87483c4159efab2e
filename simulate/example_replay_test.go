package simulate_test

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/campaignconnector/campaignconnector/simulate"
)

// A dry run: an event log replayed against campaign definitions, both as
// the files a host would keep, shows what the engine would decide.
func ExampleReplay() {
	setup, err := simulate.ReadSetup(strings.NewReader(`{
		"start": "2026-01-05T09:00:00Z",
		"campaigns": [
			{"id": "newsletter"},
			{"id": "resend",
			 "triggers": [{"kind": "email_received", "campaign_id": "newsletter"}],
			 "delay": {"after": "168h"},
			 "exceptions": [{"kind": "email_opened", "campaign_id": "newsletter"}]}
		],
		"publish": ["resend", "newsletter"]
	}`))
	if err != nil {
		panic(err)
	}
	log, err := simulate.ReadLog(strings.NewReader(`
# two receipts; bob opens two days later
{"id": "r1", "user_id": "ann", "kind": "email_received", "campaign_id": "newsletter", "time": "2026-01-05T10:00:00Z"}
{"id": "r2", "user_id": "bob", "kind": "email_received", "campaign_id": "newsletter", "time": "2026-01-05T10:00:00Z"}
{"id": "o1", "user_id": "bob", "kind": "email_opened", "campaign_id": "newsletter", "time": "2026-01-07T08:30:00Z"}
`))
	if err != nil {
		panic(err)
	}
	sim, lineErrs, err := simulate.Replay(setup, log, time.Time{})
	if err != nil {
		panic(err)
	}
	fmt.Println("lines refused:", len(lineErrs))
	_ = sim.WriteTimeline(os.Stdout)
	// Output:
	// lines refused: 0
	// 2026-01-05T10:00:00Z scheduled resend user=ann event=r1 due=2026-01-12T10:00:00Z (email_received of "newsletter")
	// 2026-01-05T10:00:00Z scheduled resend user=bob event=r2 due=2026-01-12T10:00:00Z (email_received of "newsletter")
	// 2026-01-07T08:30:00Z cancelled resend user=bob event=o1 due=2026-01-12T10:00:00Z (exception: email_opened of "newsletter": waiting since 2026-01-05T10:00:00Z)
	// 2026-01-12T10:00:00Z delivered resend user=ann event=r1 due=2026-01-12T10:00:00Z attempt=1
}
