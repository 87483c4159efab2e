package simulate

import (
	"context"
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
	sentAt   map[string]time.Time
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
		r.sentAt = make(map[string]time.Time)
	}
	if r.clock != nil {
		r.sentAt[d.ID] = r.clock.Now()
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
	return r.sentAt[id]
}
