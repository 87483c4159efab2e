package connector

import "sync"

// inFlight is the engine's sends in progress: the deliveries its slots
// have confirmed and not yet recorded, whichever Tick they belong to. A
// claim of one of them is the engine's own: the lease of the send ran out
// while it went on (the process was starved past the lease, or the clock
// stepped forward over it), and the claim must not send it again. The job
// that claimed it hands its token to the job that sends it, whose record
// and lease renewals take either token, and steps aside.
type inFlight struct {
	mu   sync.Mutex
	jobs map[inFlightKey]*job
}

type inFlightKey struct{ userID, id string }

// add registers j, whose send is about to start.
func (f *inFlight) add(j *job) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.jobs == nil {
		f.jobs = make(map[inFlightKey]*job)
	}
	f.jobs[inFlightKey{j.c.UserID, j.c.Pending.ID}] = j
}

// remove forgets j, whose send is recorded (or whose record gave up).
func (f *inFlight) remove(j *job) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := inFlightKey{j.c.UserID, j.c.Pending.ID}
	if f.jobs[k] == j {
		delete(f.jobs, k)
	}
}

// handOver reports whether another job than j sends j's delivery now; if
// so, that job takes j's token as well, under the lock that keeps it from
// being removed and reused meanwhile.
func (f *inFlight) handOver(j *job) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	sending := f.jobs[inFlightKey{j.c.UserID, j.c.Pending.ID}]
	if sending == nil || sending == j {
		return false
	}
	sending.adopted.Store(j.token)
	return true
}

// holds reports whether j's lease token is token: the one of its claim,
// or one a later claim of the same delivery by this engine handed it.
func (j *job) holds(token uint64) bool {
	return token != 0 && (token == j.token || token == j.adopted.Load())
}
