package dashboard

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// healthBody is the health page: what the store holds, recent send
// failures and retries, the engine's clock against the store's server
// clock, and the definitions' warnings.
type healthBody struct {
	Stats    []statRow // what the store holds
	Events   []statRow // what this engine did with the events it took
	Unknown  []connector.UnknownCampaign
	Warnings []connector.Warning
	// Failures are this engine's latest failed attempts, the latest first
	// (no store call).
	Failures []rule.Decision
	// WarningsMore, TroubleMore and FailuresMore count the warnings, the
	// follow-ups in trouble and the failed attempts left out of their
	// lists (healthRows).
	WarningsMore, TroubleMore, FailuresMore int64
	// UnknownEvents counts, across every engine, the events of the window
	// that named a campaign that does not exist (from the tallies).
	UnknownEvents int64
	// Clock compares this engine's clock with the store's server clock;
	// nil when the store has none.
	Clock *clockRow

	// StatsNote and WarningsNote say why Stats and Warnings are missing:
	// their reads failed. "" when they were read.
	StatsNote    string
	WarningsNote string
	// StatsRead is when the store's figures of Stats were read, on the
	// engine's clock (the health page reuses them for statsReuse), and
	// StatsReadAgo how long before the page that was, in words;
	// StatsReuse says statsReuse in words. Zero when Stats is missing.
	StatsRead    time.Time
	StatsReadAgo string
	StatsReuse   string
	// Unread names, in words and in the page's order, the parts whose
	// store reads failed: "" when every read the page made worked (a store
	// without tallies or without a server clock lacks them, it does not
	// fail them).
	Unread string
	// LastRead is, when the page could not read the store's figures, when
	// the health page of this handler last did, on the engine's clock
	// (zero: never, or they were read), and LastReadAgo how long before
	// the page that was, in words.
	LastRead    time.Time
	LastReadAgo string

	TalliesNote string
	Window      window
	Windows     []window
	Trouble     []kindSeries
	Chart       template.HTML
	ByCampaign  []troubleRow
}

// statRow is one figure of store.Stats, named in words. Figures that hold
// several (a count per reason) have Parts.
type statRow struct {
	Key   string // the field's Go name
	Label string
	// Field is the field's Go name when Label is not made of it (see
	// statLabels), for the label's title.
	Field string
	Value string
	Parts []statRow
}

// troubleRow counts one follow-up's failed and retried sends, by reason.
type troubleRow struct {
	CampaignID string
	Figures    []figure
}

// troubleMetrics are the decisions that say delivery is in trouble.
var troubleMetrics = []metric{mFailed, mRetried, {Key: "deferred", Label: "Deferred", Kinds: []rule.DecisionKind{rule.Deferred}}}

// troubleKinds are the decision kinds troubleMetrics count: the health
// page reads the tallies of these only (a week of every kind is hundreds
// of thousands of tallies, on a page that reloads itself every few
// seconds).
var troubleKinds = metricKinds(troubleMetrics)

// healthKinds are the kinds the health page reads: the trouble kinds, and
// the ignored events, of which it counts those naming an unknown campaign.
var healthKinds = append(slices.Clip(troubleKinds), rule.Ignored)

// unknownEvent reports whether t counts events that named a campaign that
// does not exist: the engines count them under no campaign.
func unknownEvent(t tally) bool {
	return t.Kind == rule.Ignored && t.Reason == rule.ReasonUnknownCampaign
}

// metricKinds returns the kinds that ms count, each once.
func metricKinds(ms []metric) []rule.DecisionKind {
	var kinds []rule.DecisionKind
	for _, m := range ms {
		for _, k := range m.Kinds {
			if !slices.Contains(kinds, k) {
				kinds = append(kinds, k)
			}
		}
	}
	return kinds
}

func (h *handler) healthPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	win, err := rangeParam(r, lastDay)
	if err != nil {
		h.problem(w, http.StatusBadRequest, err.Error())
		return
	}
	// Each read that fails leaves a notice in its part of the page, not a
	// failed page: the page is most wanted while the store is down, and
	// shows then what needs no store (this engine's own counts).
	body := healthBody{Events: keyed("Events.", structRowsOf(h.src.EventCounts())),
		Unknown: h.src.UnknownCampaigns(), Window: win, Windows: windows}
	body.Failures, body.FailuresMore = bounded(h.src.RecentFailures())
	if read, err := h.stats.get(ctx, h.src); err != nil {
		body.StatsNote = h.logFailure(r, err)
	} else {
		body.Stats = statRows(read.Stats)
		body.StatsRead = read.At
		h.healthRead.Store(read.At.UnixNano())
	}
	if body.Warnings, err = h.src.Check(ctx); err != nil {
		body.WarningsNote = h.logFailure(r, err)
	}
	body.Warnings, body.WarningsMore = overdueFirst(body.Warnings)
	body.Clock = h.clockSkew(r)
	now := h.src.Now()
	since, until := win.bounds(now)
	// The page keeps the trouble tallies of what it reads too, for a store
	// that ignores [store.TallyQuery.Kinds] and returns every kind.
	tallies, err := h.src.Tallies(ctx, tallyQuery{Since: since, Until: until, Kinds: healthKinds})
	talliesFailed := err != nil && !errors.Is(err, errNoTallies)
	if err != nil {
		body.TalliesNote = h.note(r, err)
	} else {
		var trouble []tally
		for _, t := range tallies {
			if unknownEvent(t) {
				body.UnknownEvents += t.Count
			}
			if slices.ContainsFunc(troubleMetrics, func(m metric) bool { return m.counts(t) }) {
				trouble = append(trouble, t)
			}
		}
		body.Trouble = decisionsOverTime(trouble, win, now)
		body.Chart = stackedChart(body.Trouble, win, h.cfg.location)
		grouped := byCampaign(trouble, nil)
		ids := make([]string, 0, len(grouped))
		for id := range grouped {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		for _, id := range ids {
			s := summarize(grouped[id], troubleMetrics, win, now, nil)
			body.ByCampaign = append(body.ByCampaign, troubleRow{CampaignID: id, Figures: s.Figures})
		}
		body.ByCampaign, body.TroubleMore = worstFirst(body.ByCampaign)
	}
	body.Unread = listWords(unreadParts(body.StatsNote != "", body.Clock != nil && body.Clock.Failed != "",
		talliesFailed, body.WarningsNote != ""))
	if !body.StatsRead.IsZero() {
		body.StatsReadAgo = agoWords(now.Sub(body.StatsRead))
		body.StatsReuse = durationWords(statsReuse)
	}
	if last := h.healthRead.Load(); body.StatsNote != "" && last != 0 {
		body.LastRead = time.Unix(0, last)
		body.LastReadAgo = agoWords(now.Sub(body.LastRead))
	}
	// 200 with the notices, not an error status: a browser shows the page
	// and its live refresh swaps it in (it keeps the previous figures on
	// an error status), so an open page says that the store is down.
	h.render(w, r, http.StatusOK, "health", page{Title: "Health", Nav: "health", Body: body})
}

// agoWords says how long before the page something was, in words, to
// the second: "3 minutes", "less than a second".
func agoWords(d time.Duration) string {
	if d < time.Second {
		return "less than a second"
	}
	return durationWords(d.Truncate(time.Second))
}

// unreadParts names, in the page's order, the parts of the health page
// whose store reads failed.
func unreadParts(stats, clock, tallies, warnings bool) []string {
	var out []string
	for _, p := range []struct {
		failed bool
		words  string
	}{
		{stats, "what it holds"},
		{clock, "the clock comparison"},
		{tallies, "the failed, retried and deferred sends"},
		{warnings, "the warnings"},
	} {
		if p.failed {
			out = append(out, p.words)
		}
	}
	return out
}

// listWords joins parts as a sentence lists them: "a", "a and b", "a, b
// and c".
func listWords(parts []string) string {
	if len(parts) < 2 {
		return strings.Join(parts, "")
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}

// statRows lists the exported fields of s but Events (shown apart),
// whatever they are, so that figures added to store.Stats show up without
// a change here: numbers as they are, maps as one part per key (sorted),
// nested structs as parts.
func statRows(s store.Stats) []statRow {
	rows := structRowsOf(s)
	return slices.DeleteFunc(rows, func(r statRow) bool { return r.Key == "Events" })
}

// keyed prefixes the keys of rows with prefix, and those of their parts
// with their row's key: keys stay unique across the page's tables.
func keyed(prefix string, rows []statRow) []statRow {
	for i := range rows {
		rows[i].Key = prefix + rows[i].Key
		for j := range rows[i].Parts {
			rows[i].Parts[j].Key = rows[i].Key + "." + rows[i].Parts[j].Key
		}
	}
	return rows
}

// structRowsOf lists the exported fields of the struct v.
func structRowsOf(v any) []statRow { return structRows(reflect.ValueOf(v)) }

func structRows(v reflect.Value) []statRow {
	var out []statRow
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		row := valueRow(f.Name, v.Field(i))
		if label, ok := statLabels[f.Name]; ok {
			row.Label, row.Field = label, f.Name
		}
		out = append(out, row)
	}
	return out
}

func valueRow(key string, v reflect.Value) statRow {
	row := statRow{Key: key, Label: fieldWords(key)}
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		row.Value = thousands(v.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		row.Value = thousands(int64(min(v.Uint(), 1<<63-1)))
	case reflect.Map:
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(fmt.Sprint(a), fmt.Sprint(b)) })
		var total int64
		for _, k := range keys {
			part := valueRow(fmt.Sprint(k), v.MapIndex(k))
			part.Label = strings.ReplaceAll(fmt.Sprint(k), "_", " ")
			if r, ok := k.Interface().(rule.Reason); ok {
				part.Label = reasonWords(r)
			}
			row.Parts = append(row.Parts, part)
			if n := v.MapIndex(k); n.CanInt() {
				total += n.Int()
			}
		}
		row.Value = thousands(total)
	case reflect.Struct:
		// The page shows one level of parts: a part's own parts follow it,
		// named after it ("Ignored: unknown campaign").
		for _, sub := range structRows(v) {
			parts := sub.Parts
			sub.Parts = nil
			row.Parts = append(row.Parts, sub)
			for _, p := range parts {
				p.Key, p.Label = sub.Key+"."+p.Key, sub.Label+": "+p.Label
				row.Parts = append(row.Parts, p)
			}
		}
	default:
		row.Value = fmt.Sprint(v.Interface())
	}
	return row
}

// fieldWords turns a Go field name into words: "IgnoredByReason" →
// "Ignored by reason", "UserIDs" → "User ids".
func fieldWords(name string) string {
	rs := []rune(name)
	var b strings.Builder
	for i, r := range rs {
		lowerBefore := i > 0 && unicode.IsLower(rs[i-1])
		// "HTTPErrors": the last capital of a run begins the next word,
		// unless only a plural s follows ("UserIDs").
		acronymEnds := i > 0 && unicode.IsUpper(rs[i-1]) && i+1 < len(rs) && unicode.IsLower(rs[i+1]) &&
			(rs[i+1] != 's' || i+2 < len(rs))
		if unicode.IsUpper(r) && (lowerBefore || acronymEnds) {
			b.WriteByte(' ')
		}
		if i > 0 {
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}
