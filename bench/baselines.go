package main

import (
	"sync"
	"time"
)

// timerScheduler is baseline (a): what a team writes without the library —
// a mutex-protected map of time.AfterFunc timers per (user, follow-up),
// stopped on an exception. It knows nothing of dedup, lifecycles,
// re-eligibility or restarts: it is the floor a library has to beat on its
// own ground.
type timerScheduler struct {
	mu     sync.Mutex
	timers map[string]*time.Timer
	send   func(user string)
}

func newTimerScheduler(send func(user string)) *timerScheduler {
	return &timerScheduler{timers: make(map[string]*time.Timer), send: send}
}

// schedule arms the follow-up for user after delay, unless one is armed.
func (s *timerScheduler) schedule(user, followUp string, delay time.Duration) {
	key := user + "|" + followUp
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.timers[key]; ok {
		return
	}
	s.timers[key] = time.AfterFunc(delay, func() { s.fire(key, user) })
}

// cancel stops the user's timer: an exception.
func (s *timerScheduler) cancel(user, followUp string) {
	key := user + "|" + followUp
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.timers[key]; ok {
		t.Stop()
		delete(s.timers, key)
	}
}

func (s *timerScheduler) fire(key, user string) {
	s.mu.Lock()
	_, ok := s.timers[key]
	delete(s.timers, key)
	s.mu.Unlock()
	if ok {
		s.send(user)
	}
}

// fireAll fires every armed timer now, as their due time would: it stands
// for the clock reaching the due time, which a benchmark cannot wait for.
func (s *timerScheduler) fireAll() {
	s.mu.Lock()
	keys := make([]string, 0, len(s.timers))
	for k, t := range s.timers {
		t.Stop()
		keys = append(keys, k)
	}
	s.mu.Unlock()
	for _, k := range keys {
		s.fire(k, k[:len(k)-len("|cart_reminder")])
	}
}

// stopAll stops every armed timer (the benchmarks' clean-up).
func (s *timerScheduler) stopAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, t := range s.timers {
		t.Stop()
		delete(s.timers, k)
	}
}
