package connector_test

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"time"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/simulate"
)

// observed is what one operation produced, on either side.
type observed struct {
	err       string // "", errUnknown, errTransition, or "error: " and the text
	decisions []obsDecision
	attempts  []obsAttempt
	nextDue   time.Time // afterwards, the earliest time a delivery may go; zero if none is pending
	// covered names outcomes that only the model tells apart, for the
	// coverage statistics (not compared).
	covered []string
}

// coverSameInstant: an exception stamped at its trigger's instant,
// processed after it, cancelled the delivery.
const coverSameInstant = "cancelled/exception at the trigger's instant"

const (
	errUnknown    = "unknown_campaign"
	errTransition = "invalid_transition"
)

type obsDecision struct {
	User     string
	Kind     rule.DecisionKind
	Reason   rule.Reason
	Campaign string
	EventID  string
	At       time.Time
	DueAt    time.Time
	Attempt  int
}

type obsAttempt struct {
	User, Campaign string
	At             time.Time
	Attempt        int
	Message        string
	DueAt          time.Time
	TriggerID      string
	TriggerTime    time.Time
	Refused        bool
}

// senderRefuses is the sender's behaviour in a scenario: a deterministic
// function of the scenario's seed, the delivery (user, follow-up,
// trigger) and the attempt, known to both sides.
func senderRefuses(sc *scenario, user, campaign, triggerID string, triggerTime time.Time, attempt int) bool {
	if sc.FailPct == 0 {
		return false
	}
	h := fnv.New64a()
	fmt.Fprintf(h, "%d|%s|%s|%s|%d|%d", sc.Seed, user, campaign, triggerID, triggerTime.UnixNano(), attempt)
	return h.Sum64()%100 < uint64(sc.FailPct)
}

var errRefused = errors.New("model: the sender refuses this attempt")

// engineRun is the engine side: a simulator with the deterministic
// configuration the model assumes.
type engineRun struct {
	sim       *simulate.Simulator
	decisions []rule.Decision
	attempts  []obsAttempt
}

func newEngineRun(sc *scenario) (*engineRun, error) {
	r := &engineRun{}
	opts := []connector.Option{
		connector.WithRetryPolicy(connector.RetryPolicy{MaxAttempts: refMaxAttempts, Base: refRetryBase, Max: refRetryMax}),
		connector.WithObserver(connector.ObserverFunc(func(d rule.Decision) { r.decisions = append(r.decisions, d) })),
		connector.WithDedupAll(), // the model ignores every repeated event ID
	}
	if sc.NoPrune {
		opts = append(opts, connector.WithPruneInterval(100*365*24*time.Hour))
	}
	sim, err := simulate.New(sc.Start, opts...)
	if err != nil {
		return nil, err
	}
	sim.Sender.Fail = func(d connector.Delivery) error {
		refused := senderRefuses(sc, d.UserID, d.CampaignID, d.Trigger.ID, d.Trigger.Time, d.Attempt)
		r.attempts = append(r.attempts, obsAttempt{User: d.UserID, Campaign: d.CampaignID, At: sim.Now(),
			Attempt: d.Attempt, Message: string(d.Message), DueAt: d.DueAt, TriggerID: d.Trigger.ID,
			TriggerTime: d.Trigger.Time, Refused: refused})
		if refused {
			return errRefused
		}
		return nil
	}
	r.sim = sim
	return r, nil
}

func (r *engineRun) apply(op genOp) observed {
	ctx, e := context.Background(), r.sim.Engine
	nd, na := len(r.decisions), len(r.attempts)
	var err error
	switch op.Kind {
	case opSave:
		err = e.Save(ctx, op.Camp.rule())
	case opPublish:
		err = e.Publish(ctx, op.ID)
	case opStop:
		err = e.Stop(ctx, op.ID)
	case opArchive:
		err = e.Archive(ctx, op.ID)
	case opTrack:
		err = e.Track(ctx, op.Event.event())
	case opAdvance:
		_, err = r.sim.Advance(op.Advance)
	}
	return r.observe(nd, na, errText(err))
}

// applyBatch tracks the events of ops (all opTrack) with one TrackAll;
// its error says which failed, each as Track would have.
func (r *engineRun) applyBatch(ops []genOp) observed {
	nd, na := len(r.decisions), len(r.attempts)
	events := make([]event.Event, len(ops))
	for k, op := range ops {
		events[k] = op.Event.event()
	}
	errs := make([]string, len(ops))
	if err := r.sim.Engine.TrackAll(context.Background(), events); err != nil {
		for _, x := range err.(interface{ Unwrap() []error }).Unwrap() {
			var te *connector.TrackError
			if !errors.As(x, &te) {
				return r.observe(nd, na, "TrackAll: not a TrackError: "+x.Error())
			}
			errs[te.Index] = errText(te.Err)
		}
	}
	return r.observe(nd, na, batchErr(errs))
}

// batchErr is the observed error of a batch whose operations failed with
// errs ("" for those that did not).
func batchErr(errs []string) string {
	var out []string
	for k, e := range errs {
		if e != "" {
			out = append(out, fmt.Sprintf("[%d] %s", k, e))
		}
	}
	return strings.Join(out, "; ")
}

// errText is how an engine error is observed.
func errText(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, connector.ErrUnknownCampaign):
		return errUnknown
	case errors.Is(err, connector.ErrInvalidTransition):
		return errTransition
	default:
		return "error: " + err.Error()
	}
}

// observe returns what the engine did since it had nd decisions and na
// attempts, with err.
func (r *engineRun) observe(nd, na int, err string) observed {
	ctx := context.Background()
	out := observed{attempts: slices.Clone(r.attempts[na:]), err: err}
	if next, ok, err := r.sim.Store.NextDue(ctx, ""); err != nil {
		out.err += "; NextDue: " + err.Error()
	} else if ok {
		out.nextDue = next
	}
	for _, d := range r.decisions[nd:] {
		if d.Kind == rule.Warned && d.Reason != rule.ReasonDraftFollowUp && d.Reason != rule.ReasonDelayExceedsDuration {
			continue // hazards beyond the two of the reference are not modelled
		}
		out.decisions = append(out.decisions, obsDecision{User: d.UserID, Kind: d.Kind, Reason: d.Reason,
			Campaign: d.CampaignID, EventID: d.EventID, At: d.At, DueAt: d.DueAt, Attempt: d.Attempt})
	}
	return out
}

// applyModelBatch applies ops to the model one by one and merges what it
// observed as applyBatch does.
func applyModelBatch(model *refModel, ops []genOp) observed {
	var out observed
	errs := make([]string, len(ops))
	for k, op := range ops {
		o := model.apply(op)
		errs[k] = o.err
		out.decisions = append(out.decisions, o.decisions...)
		out.attempts = append(out.attempts, o.attempts...)
		out.covered = append(out.covered, o.covered...)
		out.nextDue = o.nextDue
	}
	out.err = batchErr(errs)
	return out
}

// runScenario runs sc on both sides and returns the first divergence, or
// nil. onOp, when set, receives what each operation produced on the engine.
func runScenario(sc *scenario, onOp func(i int, got observed)) (div *divergence) {
	var timeline []string
	lastDue := "next due none"
	defer func() {
		if p := recover(); p != nil {
			div = &divergence{op: -1, diff: []string{fmt.Sprintf("+ panic: %v", p)}, timeline: timeline}
		}
	}()
	eng, err := newEngineRun(sc)
	if err != nil {
		return &divergence{op: -1, diff: []string{"+ simulate.New: " + err.Error()}}
	}
	model := newRefModel(sc)
	for i := 0; i < len(sc.Ops); {
		op, j := sc.Ops[i], i+1 // ops i..j-1 go together
		for sc.Batched && op.Kind == opTrack && j < len(sc.Ops) && sc.Ops[j].Kind == opTrack {
			j++
		}
		for k := i; k < j; k++ {
			if sc.Ops[k].Kind == opTrack {
				timeline = append(timeline, fmt.Sprintf("#%d %s", k, sc.Ops[k].Event.describe(sc.Start)))
			}
		}
		var got, want observed
		if j-i > 1 {
			got, want = eng.applyBatch(sc.Ops[i:j]), applyModelBatch(model, sc.Ops[i:j])
		} else {
			got, want = eng.apply(op), model.apply(op)
		}
		gl, wl := got.lines(sc.Start), want.lines(sc.Start)
		if onOp != nil {
			got.covered = want.covered
			onOp(i, got)
		}
		if d := multisetDiff(wl, gl); d != nil {
			return &divergence{op: i, diff: d, timeline: timeline}
		}
		for _, l := range gl {
			if strings.HasPrefix(l, "next due ") && l == lastDue {
				continue // unchanged
			}
			timeline = append(timeline, fmt.Sprintf("#%d %s", i, l))
		}
		lastDue = gl[len(gl)-1]
		i = j
	}
	return nil
}

// multisetDiff returns the union of want and got marked by side, or nil
// when they hold the same lines.
func multisetDiff(want, got []string) []string {
	if slices.Equal(want, got) {
		return nil
	}
	var out []string
	i, j := 0, 0
	for i < len(want) || j < len(got) {
		switch {
		case j == len(got) || (i < len(want) && want[i] < got[j]):
			out = append(out, "- "+want[i])
			i++
		case i == len(want) || got[j] < want[i]:
			out = append(out, "+ "+got[j])
			j++
		default:
			out = append(out, "  "+want[i])
			i, j = i+1, j+1
		}
	}
	return out
}
