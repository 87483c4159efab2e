package postgres_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/campaignconnector/campaignconnector/store/postgres"
	"github.com/stretchr/testify/require"
)

// eventGen makes random receipts from good and poison parts: text with
// NUL bytes or invalid UTF-8, numbers of any syntax, floats of any value,
// long identifiers, times of any year and zone.
type eventGen struct{ r *rand.Rand }

var (
	goodTexts  = []string{"ann", "bob", "ünïcødé", "🙂", "", "\u2028", "\x01\x7f"}
	badTexts   = []string{"a\x00b", "\x00", "a\xffb", "caf\xc3", "\xed\xa0\x80"}
	goodNums   = []string{"0", "-0.0", "12.5", "1e400", "9e131071", "1e-16383", "12345678901234567890"}
	badNums    = []string{"NaN", "Inf", "0x10", "1_000", "01", "1e", "1e131072", "1e-16384"}
	goodFloats = []float64{0, -1.5, math.MaxFloat64, math.SmallestNonzeroFloat64}
	badFloats  = []float64{math.NaN(), math.Inf(1), math.Inf(-1)}
)

func (g eventGen) pick(list []string) string { return list[g.r.IntN(len(list))] }

// pickPoison picks from bad one time in n, else from good.
func (g eventGen) pickPoison(n int, good, bad []string) string {
	if g.r.IntN(n) == 0 {
		return g.pick(bad)
	}
	return g.pick(good)
}

func (g eventGen) text() string {
	if g.r.IntN(3) == 0 {
		return g.pickPoison(5, goodTexts, badTexts)
	}
	return fmt.Sprint("t", g.r.IntN(1000))
}

func (g eventGen) value(depth int) any {
	switch g.r.IntN(8) {
	case 0:
		return g.text()
	case 1:
		return json.Number(g.pickPoison(4, goodNums, badNums))
	case 2:
		if g.r.IntN(4) == 0 {
			return badFloats[g.r.IntN(len(badFloats))]
		}
		return goodFloats[g.r.IntN(len(goodFloats))]
	case 3:
		return g.r.Int64()
	case 4:
		return g.r.IntN(2) == 0
	case 5:
		if depth < 3 {
			l := make([]any, g.r.IntN(3))
			for i := range l {
				l[i] = g.value(depth + 1)
			}
			return l
		}
	case 6:
		if depth < 3 {
			return g.props(depth + 1)
		}
	}
	return nil
}

func (g eventGen) props(depth int) map[string]any {
	m := map[string]any{}
	for range g.r.IntN(3) {
		m[g.text()] = g.value(depth)
	}
	return m
}

func (g eventGen) time() time.Time {
	switch g.r.IntN(24) {
	case 0:
		return time.Time{}
	case 1:
		return time.Date(9000+g.r.IntN(1001), 6, 1, 0, 0, 0, 0, time.UTC)
	case 2:
		return t0.In(time.FixedZone("z", g.r.IntN(48*3600)-24*3600))
	case 3:
		return time.Date(g.r.IntN(3)-1, 12, 31, 23, 0, 0, 0, time.UTC)
	}
	return t0.Add(1 + time.Duration(g.r.Int64N(int64(time.Minute)))) // after the campaigns went live
}

func (g eventGen) event(i int) event.Event {
	ev := event.Event{ID: fmt.Sprint("e", i), UserID: fmt.Sprint("u", g.r.IntN(50)), Kind: event.EmailReceived,
		CampaignID: "newsletter", Time: g.time(), Properties: g.props(0)}
	switch g.r.IntN(12) {
	case 0:
		ev.UserID = g.pick(badTexts)
	case 1:
		ev.ID = g.pick(badTexts)
	case 2:
		ev.CampaignID = "newsletter" + g.pick(badTexts)
	case 3:
		ev.UserID = incompressible(900 + g.r.IntN(300)) // around MaxIDBytes
	case 4:
		ev.ID = incompressible(2000 + g.r.IntN(2000))
	}
	return ev
}

// TestMemoryAndPostgreSQLAcceptTheSameEvents pushes random events, made
// of good and poison parts, through TrackAll on the memory store and on
// PostgreSQL (without size limits): both reject the same events, with
// ValidationErrors only, and keep the same deliveries with the same
// triggers.
func TestMemoryAndPostgreSQLAcceptTheSameEvents(t *testing.T) {
	ctx := context.Background()
	pg := openStore(t, postgres.WithSchema(testSchema(t)))
	for seed := range uint64(3) {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			g := eventGen{rand.New(rand.NewPCG(seed, 99))}
			evs := make([]event.Event, 400)
			for i := range evs {
				evs[i] = g.event(i)
			}
			ns := fmt.Sprint("random-", seed)
			run := func(s store.Store) (failed []int, kept map[string]string) {
				e, _ := poisonEngine(t, s, ns)
				err := e.TrackAll(ctx, evs)
				var list []error
				if err != nil {
					list = err.(interface{ Unwrap() []error }).Unwrap()
				}
				for _, x := range list {
					var te *connector.TrackError
					require.ErrorAs(t, x, &te)
					var ve *event.ValidationError
					require.True(t, errors.As(te.Err, &ve), "event %d %+q: %v", te.Index, evs[te.Index], te.Err)
					failed = append(failed, te.Index)
				}
				kept = map[string]string{}
				rejected := map[int]bool{}
				for _, i := range failed {
					rejected[i] = true
				}
				for i, ev := range evs {
					if rejected[i] {
						continue // its user ID may be one PostgreSQL cannot even look up
					}
					u, err := s.User(ctx, ns, ev.UserID)
					if errors.Is(err, store.ErrNotFound) {
						continue
					}
					require.NoError(t, err)
					var lines []string
					for _, p := range u.Pending {
						trigger, err := json.Marshal(p.Trigger)
						require.NoError(t, err)
						lines = append(lines, p.ID+" "+string(trigger))
					}
					sort.Strings(lines)
					kept[ev.UserID] = strings.Join(lines, "\n")
				}
				return failed, kept
			}
			memFailed, memKept := run(store.NewMemory())
			pgFailed, pgKept := run(pg)
			t.Logf("%d of %d events rejected, %d users kept", len(memFailed), len(evs), len(memKept))
			require.Equal(t, memFailed, pgFailed, "the same events are rejected")
			require.Equal(t, memKept, pgKept, "the same deliveries are kept")
			require.NotEmpty(t, memFailed, "the generator makes poison")
			require.Greater(t, len(memKept), 10, "and good events")
		})
	}
}
