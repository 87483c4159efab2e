package simulate

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/campaignconnector/campaignconnector/connector"
)

// Recorder is a [connector.Sender] that records what it is asked to send.
// By default it accepts everything; set Fail to refuse some deliveries.
// It is safe for concurrent use.
type Recorder struct {
	// Fail, when set, is called for every attempt; a non-nil error refuses
	// the delivery (the engine retries it per its policy, at random
	// times under the default policy: see [New]).
	Fail func(d connector.Delivery) error

	clock    *clock.Mock
	mu       sync.Mutex
	attempts []connector.Delivery
	accepted []connector.Delivery
	// sentAt holds, by delivery ID, the clock's time at each acceptance,
	// in order: an ID accepted again (a duplicate send) has several.
	sentAt map[string][]time.Time
}

// Send implements [connector.Sender].
func (r *Recorder) Send(_ context.Context, d connector.Delivery) error {
	r.mu.Lock()
	r.attempts = append(r.attempts, d)
	fail := r.Fail
	r.mu.Unlock()
	if fail != nil {
		if err := fail(d); err != nil {
			return err
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.accepted = append(r.accepted, d)
	if r.sentAt == nil {
		r.sentAt = make(map[string][]time.Time)
	}
	if r.clock != nil {
		r.sentAt[d.ID] = append(r.sentAt[d.ID], r.clock.Now())
	}
	return nil
}

// Accepted returns the deliveries accepted so far, in order.
func (r *Recorder) Accepted() []connector.Delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]connector.Delivery(nil), r.accepted...)
}

// Attempts returns every delivery attempt, accepted or refused, in order.
func (r *Recorder) Attempts() []connector.Delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]connector.Delivery(nil), r.attempts...)
}

// SentAt returns when the delivery with ID id was last accepted (the zero
// time if never).
func (r *Recorder) SentAt(id string) time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	if times := r.sentAt[id]; len(times) > 0 {
		return times[len(times)-1]
	}
	return time.Time{}
}

// SentTimes returns when the delivery with ID id was accepted, each time,
// in order (nil if never): more than one time when the same delivery was
// accepted again, as a duplicate send, or a send whose success the engine
// did not record and tried again, would be. The i-th time is that of the
// i-th delivery with ID id in [Recorder.Accepted]. Like [Recorder.SentAt],
// it knows times only in a simulator's Recorder (see [New]): a Recorder
// built otherwise has no clock to read.
func (r *Recorder) SentTimes(id string) []time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.sentAt[id])
}
