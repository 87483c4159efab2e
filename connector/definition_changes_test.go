package connector

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/stretchr/testify/require"
)

// TestDefinitionChangesNamesEachField changes one field of a follow-up at
// a time and checks the part that says so; a field left as it is says
// nothing.
func TestDefinitionChangesNamesEachField(t *testing.T) {
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	base := func() rule.Campaign {
		return rule.Campaign{
			ID:         "resend",
			Triggers:   []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "news"}},
			Delay:      rule.After(168 * time.Hour),
			Exceptions: []rule.Exception{{Kind: event.EmailOpened, CampaignID: "news"}},
			Audience:   "vip",
			Message:    json.RawMessage(`{"title":"Hi","body":"See you"}`),
			Channel:    event.Email,
		}
	}
	for _, tc := range []struct {
		name string
		edit func(c *rule.Campaign)
		want string
	}{
		{"unchanged", func(c *rule.Campaign) {}, ""},
		{"trigger added", func(c *rule.Campaign) {
			c.Triggers = append(c.Triggers, rule.Trigger{Kind: event.EmailClicked, CampaignID: "news"})
		}, `triggers +email_clicked of "news"`},
		{"trigger replaced", func(c *rule.Campaign) {
			c.Triggers = []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "news"}}
		}, `triggers +email_opened of "news", -email_received of "news"`},
		{"delay", func(c *rule.Campaign) { c.Delay = rule.After(72 * time.Hour) },
			"delay after 168h0m0s → after 72h0m0s"},
		{"delay to a calendar one", func(c *rule.Campaign) { c.Delay = rule.NextWeekdayAt(time.Monday, 9, 0) },
			"delay after 168h0m0s → next monday at 09:00"},
		{"exception added", func(c *rule.Campaign) {
			c.Exceptions = append(c.Exceptions, rule.Exception{Kind: event.Purchase})
		}, "exceptions +purchase"},
		{"exceptions removed", func(c *rule.Campaign) { c.Exceptions = nil },
			`exceptions -email_opened of "news"`},
		{"reeligibility", func(c *rule.Campaign) { c.Reeligibility = rule.ReeligibleAfter(720 * time.Hour) },
			"reeligibility once only → re-eligible after 720h0m0s"},
		{"start", func(c *rule.Campaign) { c.Start = start },
			"start none → 2026-03-01T00:00:00Z"},
		{"end", func(c *rule.Campaign) { c.End = start.Add(24 * time.Hour) },
			"end none → 2026-03-02T00:00:00Z"},
		{"audience", func(c *rule.Campaign) { c.Audience = "" },
			`audience "vip" → all users`},
		{"message keys", func(c *rule.Campaign) { c.Message = json.RawMessage(`{"title":"Hello","cta":"Go"}`) },
			"message +cta, -body, title changed"},
		{"message respaced", func(c *rule.Campaign) { c.Message = json.RawMessage(`{ "body": "See you", "title": "Hi" }`) },
			""},
		{"message not an object", func(c *rule.Campaign) { c.Message = json.RawMessage(`"plain"`) },
			"message changed (31 → 7 bytes)"},
		{"message removed", func(c *rule.Campaign) { c.Message = nil }, "message removed"},
		{"channel", func(c *rule.Campaign) { c.Channel = event.Push }, "channel email → push"},
		{"control group", func(c *rule.Campaign) { c.ControlPercent = 10 }, "control_percent 0% → 10%"},
		{"recheck audience", func(c *rule.Campaign) { c.RecheckAudience = true }, "recheck_audience off → on"},
		{"send window", func(c *rule.Campaign) {
			c.SendWindow = &rule.SendWindow{From: rule.At(9, 0), To: rule.At(17, 0), Days: []time.Weekday{time.Monday}, NextAvailable: true}
		}, "send_window any time → 09:00–17:00 on monday, next available"},
		{"conversion added", func(c *rule.Campaign) {
			c.Conversions = []rule.Conversion{{ID: "bought", Kind: event.Purchase, Name: "sku-1"}}
		}, `conversions +bought (purchase "sku-1" within 72h0m0s)`},
		{"pending policy", func(c *rule.Campaign) { c.PendingPolicy = rule.AllowParallel },
			"pending_policy keep_first → allow_parallel"},
		{"rate limit", func(c *rule.Campaign) { c.RateLimit = 100 }, "rate_limit unlimited → 100/min"},
		{"frequency caps", func(c *rule.Campaign) { c.IgnoreFrequencyCaps = true }, "ignore_frequency_caps off → on"},
		{"two fields, in the order of the definition", func(c *rule.Campaign) {
			c.Exceptions = append(c.Exceptions, rule.Exception{Kind: event.Purchase})
			c.Delay = rule.After(72 * time.Hour)
		}, "delay after 168h0m0s → after 72h0m0s; exceptions +purchase"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			old, new := base(), base()
			tc.edit(&new)
			require.Equal(t, tc.want, definitionChanges(&old, &new))
		})
	}
}

// TestDefinitionChangesSaysReordered: the same triggers in another
// order are no trigger added or removed.
func TestDefinitionChangesSaysReordered(t *testing.T) {
	a := rule.Trigger{Kind: event.EmailOpened, CampaignID: "news"}
	b := rule.Trigger{Kind: event.EmailClicked, CampaignID: "news"}
	old := rule.Campaign{ID: "f", Triggers: []rule.Trigger{a, b}}
	new := rule.Campaign{ID: "f", Triggers: []rule.Trigger{b, a}}
	require.Equal(t, "triggers reordered", definitionChanges(&old, &new))
}

// TestDefinitionChangesIsBounded: a hundred triggers replaced, long
// conditions and a message of hundreds of keys give a detail of about a
// kilobyte, naming a few items of each list and counting the rest.
func TestDefinitionChangesIsBounded(t *testing.T) {
	old := rule.Campaign{ID: "f"}
	new := rule.Campaign{ID: "f", Delay: rule.After(time.Hour)}
	long := strings.Repeat("x", 5000)
	oldMsg, newMsg := map[string]string{}, map[string]string{}
	for i := range 100 {
		old.Triggers = append(old.Triggers, rule.Trigger{Kind: event.CustomEvent, Name: fmt.Sprintf("old-%d", i)})
		new.Triggers = append(new.Triggers, rule.Trigger{Kind: event.CustomEvent, Name: fmt.Sprintf("new-%d", i),
			Where: []rule.Condition{{Property: "p", Op: rule.OpEqual, Value: long}}})
		new.Exceptions = append(new.Exceptions, rule.Exception{Kind: event.CustomEvent, Name: fmt.Sprintf("stop-%d-%s", i, long)})
	}
	for i := range 300 {
		oldMsg[fmt.Sprintf("key-%03d", i)] = "a"
		newMsg[fmt.Sprintf("key-%03d", i)] = "b"
	}
	old.Message, _ = json.Marshal(oldMsg)
	new.Message, _ = json.Marshal(newMsg)
	new.Audience = long
	for i := range 4 {
		new.Conversions = append(new.Conversions, rule.Conversion{ID: fmt.Sprintf("c%d-%s", i, long), Kind: event.Purchase})
	}
	new.RateLimit = 10

	got := definitionChanges(&old, &new)
	require.LessOrEqual(t, len(got), changesMaxBytes+len("; also conversions, rate_limit"), got)
	require.Contains(t, got, `triggers +custom_event "new-0" where p = "xxx`)
	require.Contains(t, got, "+97 more, -custom_event \"old-0\"")
	require.Contains(t, got, "-97 more")
	require.Contains(t, got, "key-000, key-001, key-002, 297 more changed")
	// Every field changed is named, those past the bound by their name
	// only.
	for _, field := range []string{"triggers", "delay", "exceptions", "audience", "message"} {
		require.Regexp(t, `(^|; )`+field+` `, got)
	}
	require.True(t, strings.HasSuffix(got, "; also conversions, rate_limit"), got)
	require.Equal(t, 7, strings.Count(got, "…"), "each long item is clipped: %s", got)
}

// TestEditedDetailKeepsItsPrefix: hosts that match on "definition saved"
// still find it, with or without what changed after it.
func TestEditedDetailKeepsItsPrefix(t *testing.T) {
	old := rule.Campaign{ID: "f", Delay: rule.After(time.Hour)}
	same := old
	require.Equal(t, "definition saved", editedDetail(&old, &same))
	new := rule.Campaign{ID: "f", Delay: rule.After(2 * time.Hour)}
	require.Equal(t, "definition saved: delay after 1h0m0s → after 2h0m0s", editedDetail(&old, &new))
}

// TestDefinitionChangesKeepsNumbersExact: a message value changed in a
// digit that a float64 does not keep (a template ID of 17 digits) is a
// change the detail names, as Apply saves it as one.
func TestDefinitionChangesKeepsNumbersExact(t *testing.T) {
	old := rule.Campaign{ID: "f", Message: json.RawMessage(`{"template_id":12345678901234567,"title":"Hi"}`)}
	new := rule.Campaign{ID: "f", Message: json.RawMessage(`{"template_id":12345678901234568,"title":"Hi"}`)}
	require.Equal(t, "message template_id changed", definitionChanges(&old, &new))
	new.Message = json.RawMessage(`[12345678901234568]`)
	old.Message = json.RawMessage(`[12345678901234567]`)
	require.Equal(t, "message changed (19 → 19 bytes)", definitionChanges(&old, &new))
}

// TestDefinitionChangesQuotesOddNames: a message key or a conversion ID
// holding a line break, an escape sequence or the detail's own separators
// ("; ", " → ") is quoted, so that it cannot break the line a log or a
// terminal shows, nor read as a change of another field; a plain one is
// left as it is.
func TestDefinitionChangesQuotesOddNames(t *testing.T) {
	odd := "x; rate_limit unlimited → 1/min\n\x1b[2J"
	old := rule.Campaign{ID: "f", Message: json.RawMessage(`{"title":"Hi"}`)}
	new := rule.Campaign{ID: "f", Message: json.RawMessage(`{"title":"Hi","x; rate_limit unlimited → 1/min\n\u001b[2J":1,"cta":2}`),
		Conversions: []rule.Conversion{{ID: odd, Kind: event.Purchase}, {ID: "bought", Kind: event.Purchase}}}
	got := definitionChanges(&old, &new)
	require.Equal(t, "message +cta, +"+strconv.Quote(odd)+"; conversions +"+strconv.Quote(odd)+
		" (purchase within 72h0m0s), +bought (purchase within 72h0m0s)", got)
	require.NotContains(t, got, "\n")
	require.NotContains(t, got, "\x1b")
}
