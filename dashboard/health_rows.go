package dashboard

import (
	"cmp"
	"slices"
	"strings"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/rule"
)

// healthRows bounds the rows of each of the health page's lists of
// follow-ups in trouble and of warnings. The page reloads itself every
// few seconds: while a sending service is down, every follow-up fails,
// and thousands of rows would make a page of megabytes at each reload.
const healthRows = 100

// worstFirst sorts rows by their failed sends, then retried, then
// deferred, most first, then by campaign ID, and keeps the first
// healthRows: it returns them and how many it left out.
func worstFirst(rows []troubleRow) ([]troubleRow, int64) {
	slices.SortFunc(rows, func(a, b troubleRow) int {
		for i := range min(len(a.Figures), len(b.Figures)) {
			if c := cmp.Compare(b.Figures[i].Total(), a.Figures[i].Total()); c != 0 {
				return c
			}
		}
		return strings.Compare(a.CampaignID, b.CampaignID)
	})
	return bounded(rows)
}

// overdueFirst moves the warnings of overdue deliveries (something is
// stuck: no engine sends) before the others, keeping the order within
// each, and keeps the first healthRows: it returns them and how many it
// left out.
func overdueFirst(ws []connector.Warning) ([]connector.Warning, int64) {
	slices.SortStableFunc(ws, func(a, b connector.Warning) int {
		return cmp.Compare(overdueRank(a), overdueRank(b))
	})
	return bounded(ws)
}

func overdueRank(w connector.Warning) int {
	if w.Reason == rule.ReasonOverdueDeliveries {
		return 0
	}
	return 1
}

// bounded returns the first healthRows of s and how many more it holds.
func bounded[S ~[]E, E any](s S) (S, int64) {
	if len(s) <= healthRows {
		return s, 0
	}
	return s[:healthRows], int64(len(s) - healthRows)
}
