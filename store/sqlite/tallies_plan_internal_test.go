package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
)

// The tallies of some campaigns come from a range of the primary key,
// which holds each entry's campaign: the table is not scanned.
func TestTalliesOfCampaignsReadARangeOfThePrimaryKey(t *testing.T) {
	got := queryPlan(t, sqlTalliesOf, "", 0, 3600, `["a","b"]`)
	if !strings.Contains(got, "SEARCH campaignconnector_tallies USING PRIMARY KEY (ns=? AND hour>? AND hour<?)") ||
		strings.Contains(got, "SCAN campaignconnector_tallies") || strings.Contains(got, "TEMP B-TREE FOR ORDER BY") {
		t.Errorf("plan:\n%s", got)
	}
}

// The tallies of one campaign (a campaign page's) come from a range of the
// campaign index, in order: neither the other campaigns' tallies of the
// range nor a sort.
func TestTalliesOfOneCampaignReadARangeOfTheCampaignIndex(t *testing.T) {
	got := queryPlan(t, sqlTalliesOne, "", 0, 3600, "a")
	if !strings.Contains(got, "SEARCH campaignconnector_tallies USING INDEX campaignconnector_tallies_campaign (ns=? AND campaign_id=? AND hour>? AND hour<?)") ||
		strings.Contains(got, "TEMP B-TREE FOR ORDER BY") {
		t.Errorf("plan:\n%s", got)
	}
}

// queryPlan returns SQLite's plan of query with args, on a fresh store.
func queryPlan(t *testing.T, query string, args ...any) string {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "cc.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(plan, "\n")
}

// The tallies of some kinds come from the same ranges as those of every
// kind, in order, the kind checked on each entry: neither a scan of the
// table nor a sort.
func TestTalliesOfKindsReadTheSameRanges(t *testing.T) {
	for _, c := range []struct {
		query, index string
		campaigns    any
	}{
		{sqlTalliesKinds, "SEARCH campaignconnector_tallies USING PRIMARY KEY (ns=? AND hour>? AND hour<?)", nil},
		{sqlTalliesOfKinds, "SEARCH campaignconnector_tallies USING PRIMARY KEY (ns=? AND hour>? AND hour<?)", `["a","b"]`},
		{sqlTalliesOneKinds, "SEARCH campaignconnector_tallies USING INDEX campaignconnector_tallies_campaign (ns=? AND campaign_id=? AND hour>? AND hour<?)", "a"},
	} {
		got := queryPlan(t, c.query, "", 0, 3600, c.campaigns, `["failed","retried"]`)
		if !strings.Contains(got, c.index) || strings.Contains(got, "SCAN campaignconnector_tallies") || strings.Contains(got, "TEMP B-TREE FOR ORDER BY") {
			t.Errorf("plan:\n%s", got)
		}
	}
}

// A batch of a cancellation reads a range of the due index in order, from
// the cursor on, up to its limit: the undated rows of the follow-up (their
// NULL range, in ID order), then the dated ones; never a sort of the
// follow-up's rows, nor a scan of the table.
func TestCancelCampaignBatchReadsARangeOfTheDueIndex(t *testing.T) {
	for _, c := range []struct {
		query string
		args  []any
		want  string
	}{
		{sqlCancelBatchUndated, []any{"", "f", "d", 10},
			"SEARCH campaignconnector_pending USING INDEX campaignconnector_pending_due (ns=? AND campaign_id=? AND due_at=? AND id>?)"},
		{sqlCancelBatchDated, []any{"", "f", int64(0), "d", 10},
			"SEARCH campaignconnector_pending USING INDEX campaignconnector_pending_due (ns=? AND campaign_id=? AND (due_at,id)>(?,?))"},
	} {
		got := queryPlan(t, c.query, c.args...)
		if !strings.Contains(got, c.want) || strings.Contains(got, "SCAN") || strings.Contains(got, "TEMP B-TREE") {
			t.Errorf("plan:\n%s", got)
		}
	}
}
