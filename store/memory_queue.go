package store

// dueHeap is a binary min-heap of pending deliveries ordered by ReadyAt,
// one per shard. Each Pending knows its position (queued = index + 1), so
// removal and re-keying are O(log n) without a search.
type dueHeap []dueItem

type dueItem struct {
	at int64 // ReadyAt in Unix nanoseconds, cached for cheap comparisons
	p  *Pending
}

func (h *dueHeap) push(p *Pending) {
	*h = append(*h, dueItem{at: p.ReadyAt.UnixNano(), p: p})
	i := len(*h) - 1
	p.queued = i + 1
	h.up(i)
}

func (h *dueHeap) remove(p *Pending) {
	i := p.queued - 1
	if i < 0 || i >= len(*h) || (*h)[i].p != p {
		return
	}
	last := len(*h) - 1
	if i != last {
		h.swap(i, last)
	}
	(*h)[last] = dueItem{}
	*h = (*h)[:last]
	p.queued = 0
	if i != last {
		h.down(i)
		h.up(i)
	}
}

// fix re-positions p after its ReadyAt changed.
func (h *dueHeap) fix(p *Pending) {
	i := p.queued - 1
	if i < 0 || i >= len(*h) || (*h)[i].p != p {
		return
	}
	at := p.ReadyAt.UnixNano()
	if (*h)[i].at == at {
		return
	}
	(*h)[i].at = at
	h.down(i)
	h.up(i)
}

func (h dueHeap) swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].p.queued = i + 1
	h[j].p.queued = j + 1
}

func (h dueHeap) up(i int) {
	for i > 0 {
		parent := (i - 1) / 2
		if h[parent].at <= h[i].at {
			return
		}
		h.swap(i, parent)
		i = parent
	}
}

func (h dueHeap) down(i int) {
	n := len(h)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		c := l
		if r := l + 1; r < n && h[r].at < h[l].at {
			c = r
		}
		if h[i].at <= h[c].at {
			return
		}
		h.swap(i, c)
		i = c
	}
}

// seenSet remembers a user's processed event IDs with their expiry. Most
// users have a handful, kept in a slice in insertion order; past
// seenListMax it becomes a map.
type seenSet struct {
	list  []seenEntry
	index map[string]int64
}

type seenEntry struct {
	id    string
	until int64 // Unix nanoseconds
}

const seenListMax = 16

func (s *seenSet) empty() bool { return len(s.list) == 0 && len(s.index) == 0 }

func (s *seenSet) has(id string, now int64) bool {
	if s.index != nil {
		until, ok := s.index[id]
		return ok && until > now
	}
	for _, e := range s.list {
		if e.id == id {
			return e.until > now
		}
	}
	return false
}

func (s *seenSet) add(id string, until int64) {
	if s.index != nil {
		s.index[id] = until
		return
	}
	for i := range s.list {
		if s.list[i].id == id { // an expired entry being renewed
			s.list[i].until = until
			return
		}
	}
	if len(s.list) < seenListMax {
		s.list = append(s.list, seenEntry{id, until})
		return
	}
	s.index = make(map[string]int64, 2*seenListMax)
	for _, e := range s.list {
		s.index[e.id] = e.until
	}
	s.index[id] = until
	s.list = nil
}

// expire drops expired entries cheaply: the slice is scanned (it is short),
// the map is left to prune.
func (s *seenSet) expire(now int64) {
	if s.index == nil && len(s.list) > 0 {
		s.prune(now)
	}
}

// prune drops every expired entry and returns how many.
func (s *seenSet) prune(now int64) int {
	n := 0
	if s.index != nil {
		for id, until := range s.index {
			if until <= now {
				delete(s.index, id)
				n++
			}
		}
		if len(s.index) == 0 {
			s.index = nil
		}
		return n
	}
	kept := s.list[:0]
	for _, e := range s.list {
		if e.until > now {
			kept = append(kept, e)
		} else {
			n++
		}
	}
	clear(s.list[len(kept):])
	s.list = kept
	if len(s.list) == 0 {
		s.list = nil
	}
	return n
}
