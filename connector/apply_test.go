package connector_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/stretchr/testify/require"
)

// applied collects the Applied decisions engines hand their observers.
type applied struct {
	mu sync.Mutex
	ds []rule.Decision
}

func (a *applied) Observe(d rule.Decision) {
	if d.Kind != rule.Applied {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.ds = append(a.ds, d)
}

// reset forgets the decisions collected so far.
func (a *applied) reset() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.ds = nil
}

// lines returns "reason campaign" for each decision, in order.
func (a *applied) lines() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for _, d := range a.ds {
		out = append(out, string(d.Reason)+" "+d.CampaignID)
	}
	return out
}

// chain is an original, "news", a resend of it to those who did not open
// it within a day, and a follow-up on opens of the resend.
func chain(resendDelay time.Duration) []rule.Campaign {
	return []rule.Campaign{
		{ID: "news"},
		{ID: "resend", Delay: rule.After(resendDelay),
			Triggers:   []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "news"}},
			Exceptions: []rule.Exception{{Kind: event.EmailOpened, CampaignID: "news"}}},
		{ID: "thanks", Triggers: []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "resend"}}, Delay: rule.After(time.Hour)},
	}
}

func applyClock() *clock.Mock {
	clk := clock.NewMock()
	clk.Set(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	return clk
}

// TestApplyTwiceChangesNothingAcrossRestarts applies a set, tracks a
// trigger, then starts a second engine on the same store that applies the
// same set: nothing changes (not even a store call: the same revision, the
// same activation times, the pending delivery kept), and its logger says
// so.
func TestApplyTwiceChangesNothingAcrossRestarts(t *testing.T) {
	ctx := context.Background()
	clk := applyClock()
	mem := store.NewMemory()
	first := &applied{}
	var log1 bytes.Buffer
	e1 := newEngine(t, mem, noop, clk, connector.WithObserver(first),
		infoLogger(&log1))
	require.NoError(t, e1.Apply(ctx, chain(24*time.Hour)))
	require.Equal(t, []string{"created news", "created resend", "created thanks",
		"published thanks", "published resend", "published news"}, first.lines())
	require.Contains(t, log1.String(), `level=INFO msg="campaignconnector applied" decision=applied reason=created campaign=news`)
	require.Contains(t, log1.String(), "apply: created 3, edited 0, published 3, resumed 0, stopped 0, unchanged 0")
	require.NoError(t, e1.Track(ctx, event.Event{ID: "r1", UserID: "ann", Kind: event.EmailReceived, CampaignID: "news", Time: clk.Now()}))
	before, err := e1.Campaigns(ctx)
	require.NoError(t, err)
	rev, err := mem.Revision(ctx, "")
	require.NoError(t, err)
	pending, err := mem.User(ctx, "", "ann")
	require.NoError(t, err)
	require.Len(t, pending.Pending, 1)

	clk.Add(time.Hour) // a restart, later
	var log bytes.Buffer
	second := &applied{}
	counted := &countingStore{Store: mem}
	e2 := newEngine(t, counted, noop, clk, connector.WithObserver(second),
		infoLogger(&log))
	require.NoError(t, e2.Apply(ctx, chain(24*time.Hour)))
	require.Empty(t, second.lines(), "the second Apply changed something")
	require.Zero(t, counted.updates.Load(), "the second Apply called the store to change nothing")
	after, err := e2.Campaigns(ctx)
	require.NoError(t, err)
	require.Equal(t, before, after, "activation times or definitions moved")
	rev2, err := mem.Revision(ctx, "")
	require.NoError(t, err)
	require.Equal(t, rev, rev2, "the second Apply wrote to the store")
	kept, err := mem.User(ctx, "", "ann")
	require.NoError(t, err)
	require.Equal(t, pending.Pending, kept.Pending)
	require.Contains(t, log.String(), "apply: created 0, edited 0, published 0, resumed 0, stopped 0, unchanged 3")
}

// TestApplyPublishesFollowUpsBeforeTheirOriginals watches Apply publish a
// chain news ← resend ← thanks: as soon as a campaign is published, a
// second engine on the store tracks an interaction with it, which its
// follow-up must already count. Publishing an original first would lose
// that interaction.
func TestApplyPublishesFollowUpsBeforeTheirOriginals(t *testing.T) {
	ctx := context.Background()
	clk := applyClock()
	mem := store.NewMemory()
	other := newEngine(t, mem, noop, clk)
	interactions := map[string]event.Kind{"news": event.EmailReceived, "resend": event.EmailOpened}
	var order []string
	var trackErr error
	watch := connector.ObserverFunc(func(d rule.Decision) {
		if d.Kind != rule.Applied || d.Reason != rule.ReasonPublished {
			return
		}
		order = append(order, d.CampaignID)
		if k, ok := interactions[d.CampaignID]; ok { // right after its publication
			trackErr = errors.Join(trackErr, other.Track(ctx, event.Event{ID: "ev-" + d.CampaignID, UserID: "u-" + d.CampaignID,
				Kind: k, CampaignID: d.CampaignID, Time: clk.Now()}))
		}
	})
	e := newEngine(t, mem, noop, clk, connector.WithObserver(watch))
	require.NoError(t, e.Apply(ctx, chain(24*time.Hour)))
	require.NoError(t, trackErr)
	require.Equal(t, []string{"thanks", "resend", "news"}, order)
	for original, followUp := range map[string]string{"news": "resend", "resend": "thanks"} {
		u, err := mem.User(ctx, "", "u-"+original)
		require.NoError(t, err, "the interaction with %s right after its publication scheduled nothing", original)
		require.Len(t, u.Pending, 1)
		require.Equal(t, followUp, u.Pending[0].CampaignID)
	}
}

// barrierStore holds each engine's first campaign update until every
// engine reached its own: all of them have planned from the store as it
// was before any change, and then race through every step.
type barrierStore struct {
	store.Store
	once    sync.Once
	arrived *sync.WaitGroup
}

func (s *barrierStore) UpdateCampaign(ctx context.Context, ns, id string, fn func(*store.CampaignRecord, bool) error) (store.CampaignRecord, error) {
	s.once.Do(func() {
		s.arrived.Done()
		s.arrived.Wait()
	})
	return s.Store.UpdateCampaign(ctx, ns, id, fn)
}

// TestApplyFromManyReplicasAtOnce has six engines on one store apply the
// same set at once, each planning from the store before any of them
// changed it, over a store where one campaign of the set is stopped, one a
// draft and one differs: none gets an error, and each change is made
// exactly once.
func TestApplyFromManyReplicasAtOnce(t *testing.T) {
	ctx := context.Background()
	clk := applyClock()
	mem := store.NewMemory()
	seed := newEngine(t, mem, noop, clk)
	set := chain(24 * time.Hour)
	for i := range 20 { // more chains, so the replicas overlap
		o := fmt.Sprintf("o%02d", i)
		set = append(set, rule.Campaign{ID: o}, rule.Campaign{ID: o + "-f", Delay: rule.After(time.Hour),
			Triggers: []rule.Trigger{{Kind: event.EmailOpened, CampaignID: o}}})
	}
	require.NoError(t, seed.Save(ctx, set[0]))              // news: a draft
	require.NoError(t, seed.Save(ctx, chain(time.Hour)[1])) // resend: another delay…
	require.NoError(t, seed.Publish(ctx, "resend"))
	require.NoError(t, seed.Stop(ctx, "resend")) // …and stopped
	rev0, err := mem.Revision(ctx, "")
	require.NoError(t, err)

	const replicas = 6
	seen := &applied{}
	var engines []*connector.Engine
	var arrived sync.WaitGroup
	arrived.Add(replicas)
	for range replicas {
		engines = append(engines, newEngine(t, &barrierStore{Store: mem, arrived: &arrived}, noop, clk, connector.WithObserver(seen)))
	}
	var wg sync.WaitGroup
	errs := make([]error, len(engines))
	for i, e := range engines {
		wg.Go(func() { errs[i] = e.Apply(ctx, set) })
	}
	wg.Wait()
	require.NoError(t, errors.Join(errs...))

	recs, err := engines[0].Campaigns(ctx)
	require.NoError(t, err)
	require.Len(t, recs, len(set))
	for _, rec := range recs {
		want := int64(1)
		if rec.Campaign.ID == "resend" {
			want = 2 // resumed
		}
		require.Equal(t, rule.Active, rec.State, rec.Campaign.ID)
		require.Equal(t, want, rec.Activation, "%s was published more than once", rec.Campaign.ID)
		i := slices.IndexFunc(set, func(c rule.Campaign) bool { return c.ID == rec.Campaign.ID })
		require.Equal(t, set[i], rec.Campaign)
	}
	lines := seen.lines()
	slices.Sort(lines)
	require.Equal(t, len(lines), len(slices.Compact(slices.Clone(lines))), "a change was made twice: %v", lines)
	// news published; resend edited and resumed; thanks and 40 more created and published.
	require.Len(t, lines, 1+2+2*(1+40))
	rev, err := mem.Revision(ctx, "")
	require.NoError(t, err)
	require.Equal(t, rev0+int64(len(lines)), rev, "store writes beyond the changes")
}

// TestApplyInvalidSetChangesNothing gives Apply sets with problems: the
// error names every bad campaign, with the field and a sentinel errors.Is
// finds, and the store is left as it was.
func TestApplyInvalidSetChangesNothing(t *testing.T) {
	ctx := context.Background()
	good := chain(24 * time.Hour)
	with := func(extra ...rule.Campaign) []rule.Campaign { return append(slices.Clone(good), extra...) }
	tests := []struct {
		name string
		set  []rule.Campaign
		opts []connector.ApplyOption
		want map[string]error // campaign → a sentinel its error wraps (nil: none)
	}{
		{"a bad definition", with(rule.Campaign{ID: "bad", Triggers: []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "news"}},
			Exceptions: []rule.Exception{{Kind: event.EmailClicked, CampaignID: "news"}}}),
			nil, map[string]error{"bad": rule.ErrExceptionWithoutDelay}},
		{"a reference to a campaign neither in the set nor stored", with(rule.Campaign{ID: "lost",
			Triggers: []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "nowhere"}}}),
			nil, map[string]error{"lost": connector.ErrUnknownCampaign}},
		{"a cycle", with(
			rule.Campaign{ID: "ping", Triggers: []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "pong"}}},
			rule.Campaign{ID: "pong", Triggers: []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "ping"}}}),
			nil, map[string]error{"ping": connector.ErrCycle, "pong": connector.ErrCycle}},
		{"a cycle through a stored campaign", with(rule.Campaign{ID: "stored", Triggers: []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "loop"}}}),
			nil, map[string]error{"stored": connector.ErrCycle}},
		{"an archived campaign", with(rule.Campaign{ID: "gone"}), nil, map[string]error{"gone": connector.ErrInvalidTransition}},
		{"a campaign twice", with(good[0]), nil, map[string]error{"news": nil}},
		{"a trigger on a campaign StopOthers would stop", with(rule.Campaign{ID: "needs-kept",
			Triggers: []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "kept"}}}),
			[]connector.ApplyOption{connector.StopOthers()}, map[string]error{"needs-kept": nil}},
		{"several problems at once", with(
			rule.Campaign{ID: "gone"},
			rule.Campaign{ID: "lost", Triggers: []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "nowhere"}}},
			rule.Campaign{ID: "", Triggers: []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "news"}}}),
			nil, map[string]error{"gone": connector.ErrInvalidTransition, "lost": connector.ErrUnknownCampaign, "": nil}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := applyClock()
			mem := store.NewMemory()
			e := newEngine(t, mem, noop, clk)
			// Stored: "gone" archived; "loop" triggering on "stored" (which
			// the set may define); "kept" active and not in the set.
			require.NoError(t, e.Save(ctx, rule.Campaign{ID: "gone"}))
			require.NoError(t, e.Archive(ctx, "gone"))
			require.NoError(t, e.Save(ctx, rule.Campaign{ID: "stored"}))
			require.NoError(t, e.Save(ctx, rule.Campaign{ID: "loop", Triggers: []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "stored"}}}))
			require.NoError(t, e.Save(ctx, rule.Campaign{ID: "kept"}))
			require.NoError(t, e.Publish(ctx, "kept"))
			rev, err := mem.Revision(ctx, "")
			require.NoError(t, err)

			err = e.Apply(ctx, tc.set, tc.opts...)
			require.Error(t, err)
			got := map[string]bool{}
			for _, leaf := range err.(interface{ Unwrap() []error }).Unwrap() {
				var ce *connector.CampaignError
				require.ErrorAs(t, leaf, &ce)
				var ve *rule.ValidationError
				require.ErrorAs(t, leaf, &ve, "%v names no field", leaf)
				require.NotEmpty(t, ve.Field, "%v names no field", leaf)
				if sentinel := tc.want[ce.CampaignID]; sentinel != nil {
					require.ErrorIs(t, leaf, sentinel)
				}
				got[ce.CampaignID] = true
			}
			for id := range tc.want {
				require.True(t, got[id], "the error does not name %q: %v", id, err)
			}
			require.Len(t, got, len(tc.want), "the error names other campaigns: %v", err)
			after, err := mem.Revision(ctx, "")
			require.NoError(t, err)
			require.Equal(t, rev, after, "an invalid set changed the store")
		})
	}
}

// TestApplyErrorsNameTheCampaignOnce: each problem of a refused set names
// its campaign once, then the field and what is wrong.
func TestApplyErrorsNameTheCampaignOnce(t *testing.T) {
	ctx := context.Background()
	e := newEngine(t, store.NewMemory(), noop, applyClock())
	err := e.Apply(ctx, []rule.Campaign{
		{ID: "news"},
		{ID: "news"},
		{ID: "lost", Triggers: []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "nowhere"}}},
		{ID: "ping", Triggers: []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "pong"}}},
		{ID: "pong", Triggers: []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "ping"}}},
		{ID: "slow", Triggers: []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "news"}}, Delay: rule.After(-time.Hour)},
	})
	require.EqualError(t, err, strings.Join([]string{
		`connector: campaign "news": id: the set holds it more than once`,
		`connector: campaign "lost": triggers[0].campaign_id: campaign "nowhere" is not known (connector: unknown campaign)`,
		`connector: campaign "slow": delay.after: -1h0m0s is outside [0, 87600h0m0s] (invalid delay)`,
		`connector: campaign "ping": triggers[0].campaign_id: campaigns ping, pong trigger on each other ` +
			`(connector: follow-ups trigger on each other in a cycle)`,
		`connector: campaign "pong": triggers[0].campaign_id: campaigns ping, pong trigger on each other ` +
			`(connector: follow-ups trigger on each other in a cycle)`,
	}, "\n"))
}

// stepFails is a memory store whose campaign writes (failUpdate) or
// cancellations (failCancel) fail with errStep.
type stepFails struct {
	*store.Memory
	failUpdate, failCancel bool
}

var errStep = errors.New("store down")

func (s *stepFails) UpdateCampaign(ctx context.Context, ns, id string, fn func(*store.CampaignRecord, bool) error) (store.CampaignRecord, error) {
	if s.failUpdate {
		return store.CampaignRecord{}, errStep
	}
	return s.Memory.UpdateCampaign(ctx, ns, id, fn)
}

func (s *stepFails) CancelCampaign(ctx context.Context, ns, id string) ([]store.Claim, error) {
	if s.failCancel {
		return nil, errStep
	}
	return s.Memory.CancelCampaign(ctx, ns, id)
}

func (s *stepFails) CancelCampaignBatch(ctx context.Context, ns, id, cursor string, limit int) ([]store.Claim, string, error) {
	if s.failCancel {
		return nil, "", errStep
	}
	return s.Memory.CancelCampaignBatch(ctx, ns, id, cursor, limit)
}

// TestApplyStepErrorsNameTheCampaignOnce: a step of Apply that fails in
// the store names its campaign once, says which step, and keeps the
// store's error and the campaign for errors.Is and errors.As.
func TestApplyStepErrorsNameTheCampaignOnce(t *testing.T) {
	ctx := context.Background()
	s := &stepFails{Memory: store.NewMemory()}
	e := newEngine(t, s, noop, applyClock())
	require.NoError(t, e.Apply(ctx, []rule.Campaign{{ID: "news"}, {ID: "promo"}}))

	s.failUpdate = true
	err := e.Apply(ctx, []rule.Campaign{{ID: "news", Message: json.RawMessage(`{"subject":"Hi"}`)}})
	require.EqualError(t, err, `connector: save "news": store down`)
	var ce *connector.CampaignError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, "news", ce.CampaignID)
	require.ErrorIs(t, err, errStep)

	s.failUpdate, s.failCancel = false, true
	err = e.Apply(ctx, []rule.Campaign{{ID: "news"}}, connector.StopOthers())
	require.EqualError(t, err, `connector: stop "promo": cancelling pending deliveries: store down`)
	require.ErrorIs(t, err, connector.ErrNotCancelled, "promo is stopped, its deliveries not cancelled")
	require.ErrorAs(t, err, &ce)
	require.Equal(t, "promo", ce.CampaignID)
	require.ErrorIs(t, err, errStep)
}

// TestApplyEditAppliesToNewTriggersOnly applies a follow-up, tracks a
// trigger, then applies it with a longer delay: the edit keeps its
// activation and the pending delivery's due time, and a new trigger gets
// the new delay.
func TestApplyEditAppliesToNewTriggersOnly(t *testing.T) {
	ctx := context.Background()
	clk := applyClock()
	mem := store.NewMemory()
	seen := &applied{}
	e := newEngine(t, mem, noop, clk, connector.WithObserver(seen))
	require.NoError(t, e.Apply(ctx, chain(24*time.Hour)))
	t0 := clk.Now()
	require.NoError(t, e.Track(ctx, event.Event{ID: "r1", UserID: "ann", Kind: event.EmailReceived, CampaignID: "news", Time: t0}))
	before, err := e.Campaign(ctx, "resend")
	require.NoError(t, err)

	clk.Add(time.Minute)
	seen.reset()
	require.NoError(t, e.Apply(ctx, chain(48*time.Hour)))
	require.Equal(t, []string{"edited resend"}, seen.lines())
	after, err := e.Campaign(ctx, "resend")
	require.NoError(t, err)
	require.Equal(t, before.ActivatedAt, after.ActivatedAt)
	require.Equal(t, before.Activation, after.Activation)
	require.Equal(t, rule.After(48*time.Hour), after.Campaign.Delay)

	require.NoError(t, e.Track(ctx, event.Event{ID: "r2", UserID: "bob", Kind: event.EmailReceived, CampaignID: "news", Time: clk.Now()}))
	for user, due := range map[string]time.Time{"ann": t0.Add(24 * time.Hour), "bob": clk.Now().Add(48 * time.Hour)} {
		u, err := mem.User(ctx, "", user)
		require.NoError(t, err)
		require.Len(t, u.Pending, 1)
		require.True(t, u.Pending[0].DueAt.Equal(due), "%s's delivery is due at %s, want %s", user, u.Pending[0].DueAt, due)
	}
}

// TestApplyResumesAndStopsOthersOnRequest: a stopped campaign of the set
// is resumed; an active campaign absent from the set is left alone, and
// stopped (its pending delivery cancelled) only with StopOthers.
func TestApplyResumesAndStopsOthersOnRequest(t *testing.T) {
	ctx := context.Background()
	clk := applyClock()
	mem := store.NewMemory()
	seen := &applied{}
	e := newEngine(t, mem, noop, clk, connector.WithObserver(seen))
	old := rule.Campaign{ID: "old", Delay: rule.After(time.Hour), Triggers: []rule.Trigger{{Kind: event.Purchase}}}
	require.NoError(t, e.Apply(ctx, append(chain(24*time.Hour), old)))
	require.NoError(t, e.Stop(ctx, "thanks"))
	require.NoError(t, e.Track(ctx, event.Event{ID: "p", UserID: "ann", Kind: event.Purchase, Time: clk.Now()}))
	u, err := mem.User(ctx, "", "ann")
	require.NoError(t, err)
	require.Len(t, u.Pending, 1)

	seen.reset()
	require.NoError(t, e.Apply(ctx, chain(24*time.Hour)))
	require.Equal(t, []string{"published thanks"}, seen.lines())
	thanks, err := e.Campaign(ctx, "thanks")

	require.NoError(t, err)
	require.Equal(t, rule.Active, thanks.State)
	require.EqualValues(t, 2, thanks.Activation)
	rec, err := e.Campaign(ctx, "old")
	require.NoError(t, err)
	require.Equal(t, rule.Active, rec.State, "a campaign absent from the set was changed")

	seen.reset()
	require.NoError(t, e.Apply(ctx, chain(24*time.Hour), connector.StopOthers()))
	require.Equal(t, []string{"campaign_stopped old"}, seen.lines())
	rec, err = e.Campaign(ctx, "old")
	require.NoError(t, err)
	require.Equal(t, rule.Stopped, rec.State)
	if u, err := mem.User(ctx, "", "ann"); !errors.Is(err, store.ErrNotFound) {
		require.NoError(t, err)
		require.Empty(t, u.Pending, "the stopped campaign's pending delivery was kept")
	}
}

func infoLogger(w io.Writer) connector.Option {
	return connector.WithLogger(slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo})))
}
