package enginediff

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// outcome is what a scenario did on one store: per step, the decisions and
// sends it made (sorted: within a step, stores may list cancelled
// deliveries in another order), and the users' state and the decision
// tallies at the end (none when the store keeps no tallies).
type outcome struct {
	steps   [][]string
	sent    []string
	final   map[string]string
	tallies []string
}

// play runs the scenario on the store open returns, in namespace ns. A
// restart closes the store and builds a new engine on the store open
// returns then (the same memory store, a reopened durable store).
func (sc scenario) play(t *testing.T, open func() store.Store, ns string) outcome {
	ctx := context.Background()
	s := open()
	clk := clock.NewMock()
	clk.Set(sc.start)
	var (
		mu   sync.Mutex
		step []string
		out  outcome
	)
	note := func(line string) {
		mu.Lock()
		defer mu.Unlock()
		step = append(step, line)
	}
	observe := connector.ObserverFunc(func(d rule.Decision) {
		note(fmt.Sprintf("%s %s %s %s ev=%s delivery=%s due=%s attempt=%d %s",
			d.At.UTC().Format(time.RFC3339Nano), d.Kind, d.Reason, d.CampaignID+"/"+d.UserID, d.EventID,
			d.DeliveryID, d.DueAt.UTC().Format(time.RFC3339Nano), d.Attempt, d.Detail))
	})
	send := connector.SenderFunc(func(_ context.Context, d connector.Delivery) error {
		line := fmt.Sprintf("send %s %s/%s attempt=%d at %s", d.ID, d.CampaignID, d.UserID, d.Attempt,
			clk.Now().UTC().Format(time.RFC3339Nano))
		h := fnv.New32a()
		fmt.Fprint(h, d.ID, d.Attempt)
		if h.Sum32()%4 == 0 {
			note(line + " refused")
			return errors.New("provider unavailable")
		}
		note(line)
		mu.Lock()
		out.sent = append(out.sent, line)
		mu.Unlock()
		return nil
	})
	paris, err := time.LoadLocation("Europe/Paris")
	require.NoError(t, err)
	newEngine := func() *connector.Engine {
		e, err := connector.New(s, send, connector.WithClock(clk), connector.WithNamespace(ns),
			connector.WithObserver(observe), connector.WithSendConcurrency(1), connector.WithLocation(paris),
			connector.WithDecisionLog(20, 2*24*time.Hour), connector.WithPruneInterval(6*time.Hour),
			connector.WithDedupWindow(8*time.Hour), connector.WithReceiptRetention(4*24*time.Hour),
			connector.WithRetryPolicy(connector.RetryPolicy{MaxAttempts: 3, Base: 10 * time.Minute, Max: time.Hour}),
			connector.WithQuietHours(connector.QuietHours{From: rule.At(23, 0), To: rule.At(6, 0), Defer: true}),
			connector.WithFrequencyCaps(connector.FrequencyCap{Max: 3, Window: 24 * time.Hour}))
		require.NoError(t, err)
		return e
	}
	e := newEngine()
	edits := 0
	for _, c := range scenarioCampaigns() {
		require.NoError(t, e.Save(ctx, c))
	}
	for _, c := range scenarioCampaigns() {
		require.NoError(t, e.Publish(ctx, c.ID))
	}
	users := map[string]bool{}
	for _, op := range sc.ops {
		switch op.kind {
		case "track":
			ev := op.events[0]
			users[ev.UserID] = true
			if err := e.Track(ctx, ev); err != nil {
				note("error " + err.Error())
			}
		case "track all":
			for _, ev := range op.events {
				users[ev.UserID] = true
			}
			if err := e.TrackAll(ctx, op.events); err != nil {
				note("error " + err.Error())
			}
		case "advance":
			advance(t, e, s, clk, ns, op.advance)
		case "stop":
			if err := e.Stop(ctx, op.id); err != nil {
				note("error " + err.Error())
			}
		case "publish":
			if err := e.Publish(ctx, op.id); err != nil {
				note("error " + err.Error())
			}
		case "edit":
			edits++
			if err := e.Apply(ctx, editedCampaigns(op.id, edits), connector.KeepStopped()); err != nil {
				note("error " + err.Error())
			}
		case "restart":
			// A host shutting down flushes the engine's decision counts
			// before it closes the store (a flush in the background
			// would otherwise meet a closed store).
			require.NoError(t, e.FlushTallies(ctx))
			require.NoError(t, closeStore(s))
			s = open()
			e = newEngine()
		}
		mu.Lock()
		slices.Sort(step)
		out.steps = append(out.steps, step)
		step = nil
		mu.Unlock()
	}
	out.final = map[string]string{}
	for u := range users {
		st, err := s.User(ctx, ns, u)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		require.NoError(t, err)
		out.final[u] = describeUser(st)
	}
	require.NoError(t, e.FlushTallies(ctx))
	if ts, ok := s.(store.Tallier); ok {
		// Decisions are counted in the hour they are taken, never before
		// the scenario starts.
		tallies, err := ts.Tallies(ctx, ns, store.TallyQuery{Since: sc.start.Truncate(time.Hour)})
		require.NoError(t, err)
		for _, x := range tallies {
			out.tallies = append(out.tallies, fmt.Sprintf("%s %s %s %s %s %d", x.Hour.UTC().Format(time.RFC3339),
				x.CampaignID, x.Kind, x.Reason, x.Rule, x.Count))
		}
	}
	return out
}

// closeStore closes s if it has a Close method, with or without an error
// result (the SQLite store's has one, the PostgreSQL store's has none).
func closeStore(s store.Store) error {
	switch c := s.(type) {
	case interface{ Close() error }:
		return c.Close()
	case interface{ Close() }:
		c.Close()
	}
	return nil
}

// advance moves the clock forward by d, stopping at every due time on the
// way and ticking there, as a running engine would.
func advance(t *testing.T, e *connector.Engine, s store.Store, clk *clock.Mock, ns string, d time.Duration) {
	ctx := context.Background()
	target := clk.Now().Add(d)
	for {
		_, err := e.Tick(ctx)
		require.NoError(t, err)
		next, ok, err := s.NextDue(ctx, ns)
		require.NoError(t, err)
		if !ok || next.After(target) {
			break
		}
		if !next.After(clk.Now()) {
			next = clk.Now().Add(time.Millisecond) // due but deferred: step over it
		}
		if next.After(target) {
			break
		}
		clk.Set(next)
	}
	clk.Set(target)
	_, err := e.Tick(ctx)
	require.NoError(t, err)
}

// describeUser renders what a user's state holds, times to the
// nanosecond.
func describeUser(u store.UserState) string {
	var b strings.Builder
	for _, p := range u.Pending {
		fmt.Fprintf(&b, "pending %s %s due=%s ready=%s attempt=%d control=%v\n", p.ID, p.CampaignID,
			p.DueAt.UTC().Format(time.RFC3339Nano), p.ReadyAt.UTC().Format(time.RFC3339Nano), p.Attempt, p.Control)
	}
	for _, r := range u.Receipts {
		fmt.Fprintf(&b, "receipt %s at=%s expires=%s\n", r.CampaignID, r.At.UTC().Format(time.RFC3339Nano), r.Expires.UTC().Format(time.RFC3339Nano))
	}
	for _, x := range u.Sends {
		fmt.Fprintf(&b, "send %s %s at=%s\n", x.CampaignID, x.Channel, x.At.UTC().Format(time.RFC3339Nano))
	}
	for _, c := range u.Conversions {
		fmt.Fprintf(&b, "conversion %s/%s opened=%s deadline=%s control=%v\n", c.CampaignID, c.ConversionID,
			c.Opened.UTC().Format(time.RFC3339Nano), c.Deadline.UTC().Format(time.RFC3339Nano), c.Control)
	}
	for _, d := range u.Log {
		fmt.Fprintf(&b, "log %s %s %s %s\n", d.At.UTC().Format(time.RFC3339Nano), d.Kind, d.CampaignID, d.Reason)
	}
	return b.String()
}
