package otelconnector

import (
	"context"
	"fmt"
	"reflect"
	"sync"

	"github.com/campaignconnector/campaignconnector/store"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/embedded"
)

// eventSources are the sources [Telemetry.ObserveEvents] registered, which
// one callback observes, summed by attribute set (by namespace). Summing
// them here rather than in one callback per source lets a source leave
// without its namespace's sums going down: its last counts are kept in
// retired while other sources of its namespace remain.
type eventSources struct {
	once    sync.Once
	err     error // of the callback's registration
	mu      sync.Mutex
	sources map[*eventSource]struct{}
	live    map[attribute.Distinct]int
	retired map[attribute.Distinct]store.EventCounts
}

// eventSource is one registration of ObserveEvents; it is its
// metric.Registration.
type eventSource struct {
	embedded.Registration
	set   *eventSources
	src   EventCountsSource
	attrs attribute.Set
	last  store.EventCounts // at the latest collection that read it
}

// start registers the callback that observes every source, once: not in
// New, as the callback, run under the meter provider's lock, takes
// s.mu, and registering a callback while holding s.mu would wait for
// that lock.
func (s *eventSources) start(t *Telemetry) error {
	s.once.Do(func() {
		_, s.err = t.meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
			s.observe(t, o)
			return nil
		}, t.tracked, t.unheard, t.duplicates)
	})
	return s.err
}

// add registers src, observed with attrs.
func (s *eventSources) add(src EventCountsSource, attrs attribute.Set) *eventSource {
	r := &eventSource{set: s, src: src, attrs: attrs}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sources == nil {
		s.sources = make(map[*eventSource]struct{})
		s.live = make(map[attribute.Distinct]int)
		s.retired = make(map[attribute.Distinct]store.EventCounts)
	}
	s.sources[r] = struct{}{}
	s.live[attrs.Equivalent()]++
	return r
}

// observe reports, for each attribute set, the sum of its sources' counts
// and of its retired ones. A set one of whose sources fails (panics) is
// left out of this collection: reporting the others' sum alone would make
// it go down.
func (s *eventSources) observe(t *Telemetry, o metric.Observer) {
	type total struct {
		attrs  attribute.Set
		counts store.EventCounts
		failed bool
	}
	var errs []error
	defer func() { // the host's handler runs without s.mu
		for _, err := range errs {
			t.cfg.handle(err)
		}
	}()
	s.mu.Lock()
	defer s.mu.Unlock()
	totals := make(map[attribute.Distinct]*total, len(s.live))
	read := make(map[any]bool, len(s.sources)) // comparable sources read
	for r := range s.sources {
		if key, ok := sourceKey(r.src); ok {
			if read[key] {
				continue // registered twice: counted once
			}
			read[key] = true
		}
		k := r.attrs.Equivalent()
		tot := totals[k]
		if tot == nil {
			tot = &total{attrs: r.attrs, counts: s.retired[k]}
			totals[k] = tot
		}
		c, err := protect(func() (store.EventCounts, error) { return r.src.EventCounts(), nil })
		if err != nil {
			errs = append(errs, fmt.Errorf("otelconnector: reading event counts: %w", err))
			tot.failed = true
			continue
		}
		r.last = c
		addCounts(&tot.counts, c)
	}
	for _, tot := range totals {
		if tot.failed {
			continue
		}
		opt := metric.WithAttributeSet(tot.attrs)
		o.ObserveInt64(t.tracked, tot.counts.Tracked, opt)
		o.ObserveInt64(t.unheard, tot.counts.Unheard, opt)
		o.ObserveInt64(t.duplicates, tot.counts.Duplicates, opt)
	}
}

// Unregister implements metric.Registration: r's source is no longer
// observed. While other sources of its attribute set remain, its counts
// at this call (or at the latest collection, if it cannot be read now)
// stay in their sum. It is idempotent and safe for concurrent use.
func (r *eventSource) Unregister() error {
	s := r.set
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.sources[r]; !ok {
		return nil
	}
	delete(s.sources, r)
	k := r.attrs.Equivalent()
	if s.live[k]--; s.live[k] == 0 {
		delete(s.live, k)
		delete(s.retired, k)
		return nil
	}
	if key, ok := sourceKey(r.src); ok {
		for other := range s.sources {
			if okey, ok := sourceKey(other.src); ok && okey == key {
				return nil // still registered: its counts are still read
			}
		}
	}
	last := r.last
	if c, err := protect(func() (store.EventCounts, error) { return r.src.EventCounts(), nil }); err == nil {
		last = maxCounts(last, c)
	}
	ret := s.retired[k]
	addCounts(&ret, last)
	s.retired[k] = ret
	return nil
}

// addCounts adds c's exported counts to sum.
func addCounts(sum *store.EventCounts, c store.EventCounts) {
	sum.Tracked += c.Tracked
	sum.Unheard += c.Unheard
	sum.Duplicates += c.Duplicates
}

// maxCounts returns the larger of a and b, count by count: a source's
// counts only grow, but one that misbehaves must not make a sum go down.
func maxCounts(a, b store.EventCounts) store.EventCounts {
	return store.EventCounts{
		Tracked:    max(a.Tracked, b.Tracked),
		Unheard:    max(a.Unheard, b.Unheard),
		Duplicates: max(a.Duplicates, b.Duplicates),
	}
}

// sourceKey returns src as a map key when its value is comparable (a
// *connector.Engine is): the same source registered twice is then read
// once. A source of another kind (a func, a struct holding one) has no key
// and is read at each of its registrations.
func sourceKey(src EventCountsSource) (any, bool) {
	if !reflect.ValueOf(src).Comparable() {
		return nil, false
	}
	return src, true
}
