package connector

import (
	"errors"
	"time"
)

// notices is Run's end of the store's notifications ([store.Notifier]).
// A store must never close its channel: a closed channel is always ready,
// and would wake Run at once, every time, into a tight loop of Ticks and
// store calls. Run stops listening to one that closes, says so at Error,
// and looks at the store every second instead (unless WithPollInterval
// set a poll interval), as on a store that cannot notify.
type notices struct {
	ch     <-chan struct{} // nil: none, or closed
	closed bool
}

// errNoticesClosed is what Run logs when the store closes its channel.
var errNoticesClosed = errors.New("connector: the store closed its notification channel (store.Notifier): looking at the store every second instead")

// channel returns the channel to listen to; nil (which never receives)
// for a nil n.
func (n *notices) channel() <-chan struct{} {
	if n == nil {
		return nil
	}
	return n.ch
}

// heard takes a receive from the channel: ok false means it closed.
func (n *notices) heard(e *Engine, ok bool) {
	if !ok && !n.closed {
		n.ch, n.closed = nil, true
		e.logError("run", errNoticesClosed)
	}
}

// poll returns Run's poll interval, given the configured one.
func (n *notices) poll(configured time.Duration) time.Duration {
	if n.closed && configured == 0 {
		return time.Second
	}
	return configured
}
