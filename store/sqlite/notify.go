package sqlite

import (
	"context"
	"database/sql"
	"log/slog"
	"sync"
	"time"
)

const sqlWakeCounter = `SELECT wake FROM campaignconnector_namespaces WHERE ns = ?`

// notifier holds the store's Notify subscribers. Each remembers the last
// value of its namespace's wake-up counter it was woken for (-1: none
// yet), so that the watcher wakes it once per change, whoever made it.
type notifier struct {
	mu   sync.Mutex
	subs map[string]map[*subscriber]struct{}
}

type subscriber struct {
	ch   chan struct{}
	seen int64
}

func (n *notifier) init() { n.subs = make(map[string]map[*subscriber]struct{}) }

// Notify implements [store.Notifier]: ch receives a value after an update
// through any store on the same file scheduled a delivery in ns, or made
// one ready earlier, due no later than every other user's delivery of ns
// (engines wait for the earliest: a later one cannot make them wait too
// long). An update through this store notifies at once, after its
// commit; one through another store (another process) within the notify
// interval (see [WithNotifyInterval]), when this store next looks at the
// file's wake-up counter. A new subscriber also receives a value at that
// first look. Several changes may give one value.
func (s *Store) Notify(ns string) (<-chan struct{}, func()) {
	if s.closing == nil { // not made by Open: nothing will change
		return make(chan struct{}), func() {}
	}
	n := &s.subs
	sub := &subscriber{ch: make(chan struct{}, 1), seen: -1}
	n.mu.Lock()
	if n.subs[ns] == nil {
		n.subs[ns] = make(map[*subscriber]struct{})
	}
	n.subs[ns][sub] = struct{}{}
	n.mu.Unlock()
	var once sync.Once
	return sub.ch, func() {
		once.Do(func() {
			n.mu.Lock()
			delete(n.subs[ns], sub)
			if len(n.subs[ns]) == 0 {
				delete(n.subs, ns)
			}
			n.mu.Unlock()
		})
	}
}

// woke wakes ns's subscribers after a write of this store bumped the
// namespace's wake-up counter to wake (0: it did not).
func (s *Store) woke(ns string, wake int64) {
	if wake != 0 {
		s.subs.wake(ns, wake)
	}
}

// wake wakes the subscribers of ns that have not been woken for counter
// value v yet.
func (n *notifier) wake(ns string, v int64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for sub := range n.subs[ns] {
		if sub.seen == v {
			continue
		}
		sub.seen = v
		select {
		case sub.ch <- struct{}{}:
		default:
		}
	}
}

func (n *notifier) namespaces() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]string, 0, len(n.subs))
	for ns := range n.subs {
		out = append(out, ns)
	}
	return out
}

// watch reads, every notify interval until Close, the wake-up counters of
// the namespaces with subscribers, and wakes those whose counter moved
// since they were last woken: other processes' stores bump it as this
// one does, in the transaction of the update that needs it.
func (s *Store) watch() {
	t := time.NewTicker(s.cfg.notifyInterval)
	defer t.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-s.closing
		cancel()
	}()
	failing := false
	for {
		select {
		case <-s.closing:
			return
		case <-t.C:
		}
		for _, ns := range s.subs.namespaces() {
			var v sql.NullInt64
			_, err := s.queryRow(ctx, sqlWakeCounter, []any{ns}, &v)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				if !failing {
					s.log(slog.LevelWarn, "looking for other processes' wake-ups, will retry", slog.Any("error", err))
				}
				failing = true
				break
			}
			failing = false
			s.subs.wake(ns, v.Int64)
		}
	}
}
