package controlstress

import (
	"context"
	"time"

	"github.com/campaignconnector/campaignconnector/rule"
)

// stage is where the resume of the stopped follow-up stands.
type stage uint8

const (
	beforeResume stage = iota
	resuming           // Publish is running
	resumed            // Publish returned: the new activation
)

// resume is the resume of the stopped follow-up: engine 1 publishes it
// again at resumeAt, a new activation, while engine 0 stopped it.
type resume struct {
	resumeAt  time.Time
	stage     stage
	resumeSeq int // the seq when the resume returned

	// scheduledIn tells, for each delivery of the stopped follow-up, the
	// stage its scheduled decision was taken in: before the resume
	// returned, an earlier activation's.
	scheduledIn map[string]stage
}

// resumeStopped publishes the stopped follow-up again, through engine 1.
func (w *world) resumeStopped(ctx context.Context) {
	w.mu.Lock()
	w.stage = resuming
	w.mu.Unlock()
	must(w.t, w.runners[1].e.Publish(ctx, stopped))
	w.mu.Lock()
	w.stage = resumed
	w.seq++
	w.resumeSeq = w.seq
	w.mu.Unlock()
}

// observe notes, under w.mu, what a decision means for the resume and for
// the conversions: which activation a delivery of the stopped follow-up
// belongs to, and the control-group enrolments, which open conversion
// windows.
func (w *world) observe(d rule.Decision) {
	switch {
	case d.Kind == rule.Scheduled && d.CampaignID == stopped:
		if w.scheduledIn == nil {
			w.scheduledIn = map[string]stage{}
		}
		w.scheduledIn[d.DeliveryID] = w.stage
	case d.Kind == rule.HeldOut && d.CampaignID == converting:
		w.logConv(enrolEvent, d.UserID, d.At, "enrolled-"+d.DeliveryID)
		w.planPurchasesAfter(d.UserID, d.DeliveryID, d.At, hash(w.seed, d.DeliveryID, 0))
	}
}

// checkResume checks that no delivery of the stopped activation was sent
// after the stop returned, and that the new activation's were scheduled,
// never cancelled as stopped, and some sent.
func (w *world) checkResume() (old, fresh, sent int) {
	t := w.t
	t.Helper()
	for id, s := range w.scheduledIn {
		switch s {
		case resuming:
			t.Errorf("%s of %s scheduled while the resume ran, with no Tick or Track going on", id, stopped)
		case resumed:
			fresh++
		default:
			old++
		}
	}
	for _, c := range w.calls {
		if c.d.CampaignID != stopped || w.stopSeq == 0 || c.seq < w.stopSeq {
			continue
		}
		if w.scheduledIn[c.d.ID] != resumed {
			t.Errorf("%s of %s, scheduled before the resume, sent after the stop (send #%d, stop #%d, resume #%d)%s",
				c.d.ID, stopped, c.seq, w.stopSeq, w.resumeSeq, w.story(c.d.ID))
		}
	}
	if w.stage != resumed {
		t.Errorf("%s never resumed", stopped)
		return
	}
	for _, d := range w.decs {
		if d.CampaignID != stopped || w.scheduledIn[d.DeliveryID] != resumed {
			continue
		}
		switch {
		case d.Kind == rule.Cancelled && d.Reason == rule.ReasonCampaignStopped:
			t.Errorf("%s of the resumed %s cancelled as stopped%s", d.DeliveryID, stopped, w.story(d.DeliveryID))
		case d.Kind == rule.Delivered:
			sent++
		}
	}
	if fresh == 0 || sent == 0 {
		t.Errorf("the resumed %s scheduled %d deliveries and delivered %d: its new activation sends nothing", stopped, fresh, sent)
	}
	return old, fresh, sent
}
