package mailgun

import (
	"sync"
	"time"
)

// tokenCache remembers the tokens of verified requests until their
// timestamp leaves the replay window, holding at most max of them. It is a
// map for look-ups plus a FIFO queue for expiry and eviction: tokens arrive
// roughly in timestamp order, so the oldest is at the front.
type tokenCache struct {
	mu    sync.Mutex
	max   int
	until map[string]time.Time
	queue []string
	head  int
}

func newTokenCache(max int) *tokenCache {
	return &tokenCache{max: max, until: make(map[string]time.Time)}
}

// use records token as used until expires and reports whether it was
// unused (or its previous use has expired) at now.
func (c *tokenCache) use(token string, now, expires time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.expire(now)
	if until, seen := c.until[token]; seen && now.Before(until) {
		return false
	}
	for len(c.until) >= c.max && c.head < len(c.queue) {
		c.pop()
	}
	if _, seen := c.until[token]; !seen {
		c.queue = append(c.queue, token)
	}
	c.until[token] = expires
	return true
}

// expire forgets the tokens at the front of the queue that have expired.
func (c *tokenCache) expire(now time.Time) {
	for c.head < len(c.queue) {
		if until, ok := c.until[c.queue[c.head]]; ok && now.Before(until) {
			return
		}
		c.pop()
	}
}

// pop forgets the oldest token and compacts the queue when half of it is
// spent.
func (c *tokenCache) pop() {
	if c.head >= len(c.queue) {
		return
	}
	delete(c.until, c.queue[c.head])
	c.queue[c.head] = ""
	c.head++
	if c.head > len(c.queue)/2 {
		c.queue = append(c.queue[:0], c.queue[c.head:]...)
		c.head = 0
	}
}

// size reports how many tokens are remembered.
func (c *tokenCache) size() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.until)
}
