package connector

import "time"

// lease is a delivery a slot holds: confirmed, not yet recorded.
type lease struct {
	j          *job
	userID     string
	id         string
	activation int64 // of the follow-up, the claim's
	token      uint64
	end        time.Time
	// The keeper found the delivery gone while the lease lived: a stop or
	// an archive removed it, and the lease is no longer renewed.
	gone bool
}

// heldAt is where the slot keeps the lease of its job j: a slot's two jobs
// have a place each.
func (s *slot) heldAt(j *job) *lease {
	if j == &s.jobs[0] {
		return &s.held[0]
	}
	return &s.held[1]
}

// hold records that the slot holds j's delivery until end: the keeper
// renews it, and a claim of it while it is being sent steps aside for j.
func (s *slot) hold(j *job, end time.Time) {
	s.mu.Lock()
	*s.heldAt(j) = lease{j: j, userID: j.c.UserID, id: j.c.Pending.ID, activation: j.c.Pending.Activation, token: j.token, end: end}
	s.mu.Unlock()
}

// forgetHeld drops the leases the slot holds, as unhold does for each:
// their sends are no longer in progress, and neither the keeper renews
// them nor a claim steps aside for them.
func (s *slot) forgetHeld() {
	s.mu.Lock()
	s.held = [2]lease{}
	s.mu.Unlock()
}

// unhold drops the lease of j's delivery: its send is no longer in
// progress.
func (s *slot) unhold(j *job) {
	s.mu.Lock()
	*s.heldAt(j) = lease{}
	s.mu.Unlock()
}

// stillHeld reports whether no other engine can have taken j's delivery
// by now: its lease lives, or the keeper found the delivery gone while it
// lived (a stop or an archive removed it, and nobody renews its lease since).
func (s *slot) stillHeld(j *job, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.heldAt(j)
	return h.gone || now.Before(h.end)
}

// leaseEnd is when the lease the slot holds for j ends.
func (s *slot) leaseEnd(j *job) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.heldAt(j).end
}

// gone reports whether the keeper found j's delivery gone while its lease
// lived.
func (s *slot) gone(j *job) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.heldAt(j).gone
}
