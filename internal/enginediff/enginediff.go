// Package enginediff plays the same seeded random scenarios through a
// connector.Engine on the memory store and on a durable store, for the
// differential tests of each durable store: the SQLite and PostgreSQL
// stores' tests run the same scenarios and require the same decisions,
// the same sends and the same state at the end as the memory store's.
//
// [EngineDecidesAsOnMemory] plays the wide scenarios (every kind of
// follow-up setting, restarts, edits, pruning); [EdgesDecideAsOnMemory]
// plays events around the spring daylight-saving change in Paris.
//
// Every time a scenario makes is a whole millisecond (the generators
// count in minutes and seconds), so that a store that keeps times to the
// microsecond (PostgreSQL) holds them exactly, and every time the tests
// compare is rendered in UTC, so that the time zone a store returns times
// in does not count: these are the only differences of representation
// the comparison leaves out. Anything else a store does differently is a
// disagreement the tests report, with the seed that shows it (the
// subtest's name).
//
// A store's tests hand in what differs between stores: how to make a
// database of the test's own and open a store handle on it ([Database]).
package enginediff

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/store"
)

// Database is one database of a test's own.
type Database struct {
	// Open opens a new store handle on the database, closed when t ends.
	// A scenario's restart closes the handle it played on (its Close
	// method, with or without an error result) and opens another.
	Open func(t *testing.T) store.Store
}

// NewDatabase makes a database of t's own, dropped or removed when t ends.
type NewDatabase func(t *testing.T) Database

// EngineDecidesAsOnMemory runs seeds random scenarios (seeds 0 to
// seeds-1, each a subtest named "seed N") — campaigns with delays (a
// calendar delay in Paris among them), exceptions, re-eligibility, a
// control group, conversions, a send window, a rate limit, a trigger on a
// Target and the replace-with-latest policy, under quiet hours and a
// frequency cap; events one by one and in batches, late and backdated
// ones, provider retries (duplicate IDs, some after the dedup window);
// sends that fail and are retried; follow-ups stopped and published
// again; definitions edited through Apply; the engine restarted on a
// reopened store; time moved by minutes or days, with retentions short
// enough that pruning removes state — through an engine on the memory
// store and one on a database newDatabase makes, and requires the same
// decisions and the same deliveries (ID, user, follow-up, attempt, time)
// after every step, and the same state at the end. Three seeds or more
// have to hold a user out and convert them, or leave their window open.
//
// All seeds play in one database, each in a namespace of its own.
func EngineDecidesAsOnMemory(t *testing.T, newDatabase NewDatabase, seeds int) {
	db := newDatabase(t)
	heldConverted, heldOpen := 0, 0 // over the seeds, on memory
	for seed := range seeds {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			ns := fmt.Sprint("seed-", seed)
			sc := newScenario(uint64(seed))
			mem := store.NewMemory()
			want := sc.play(t, func() store.Store { return mem }, ns)
			for _, step := range want.steps {
				for _, line := range step {
					if strings.Contains(line, " converted control_group ") {
						heldConverted++
					}
				}
			}
			for _, u := range want.final {
				heldOpen += strings.Count(u, "control=true")
			}
			got := sc.play(t, func() store.Store { return db.Open(t) }, ns)
			require.Equal(t, len(want.steps), len(got.steps))
			for i := range want.steps {
				require.Equal(t, want.steps[i], got.steps[i], "step %d: %s", i, sc.ops[i])
			}
			require.Equal(t, want.final, got.final, "the users' state at the end")
			require.Equal(t, want.tallies, got.tallies, "the decision tallies at the end")
			require.NotEmpty(t, want.sent, "the scenario sends something")
			require.NotEmpty(t, want.tallies, "the memory store keeps the decision tallies")
		})
	}
	if seeds >= 3 && !t.Failed() {
		// What a store must keep of a held-out user's window: the
		// scenario has such windows, open at the end or converted.
		require.Positive(t, heldConverted+heldOpen, "the scenario's held-out users convert, or have a window open")
	}
}

// EdgesDecideAsOnMemory plays seeds random event sequences (seeds 0 to
// seeds-1, each a subtest named "seed N") around the spring
// daylight-saving change in Paris (the engine's location) through an
// engine on the memory store and one on a database newDatabase makes, and
// requires the same decisions and sends: follow-ups whose trigger is also
// their exception under each pending policy, with and without
// re-eligibility windows, and calendar delays that fall in the skipped
// hour; events one by one and in batches, stamped out of order, provider
// retries, events without ID.
//
// All seeds play in one database, each in a namespace of its own.
func EdgesDecideAsOnMemory(t *testing.T, newDatabase NewDatabase, seeds int) {
	db := newDatabase(t)
	for seed := range uint64(seeds) {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			ns := fmt.Sprint("edges-", seed)
			want := playEdges(t, store.NewMemory(), ns, seed)
			got := playEdges(t, db.Open(t), ns, seed)
			require.Equal(t, want, got)
		})
	}
}
