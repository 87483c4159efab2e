package connector

import (
	"fmt"
	"sync"
)

// guard runs f, on one of the courier's goroutines other than the
// Tick's (or on the Tick's, once the others have ended), and reports
// whether it returned. A panic that unwinds it (the
// store's, an observer's, the directory's), or runtime.Goexit (a sender
// that calls t.FailNow), ends that goroutine rather than the process: the
// first is kept, for the Tick to repeat on its goroutine, and no new send
// starts. One that comes after it, which nothing repeats, is counted in
// w.later, for the Tick to log.
func (w *courier) guard(f func()) (returned bool) {
	defer func() {
		if !returned {
			w.keepPanic(recover())
		}
	}()
	f()
	return true
}

// keepPanic keeps v, the value of a panic (nil: runtime.Goexit) that
// unwound one of the courier's goroutines, as guard does: the first for
// the Tick to repeat, a later one counted; no new send starts.
func (w *courier) keepPanic(v any) {
	if !w.unwound.CompareAndSwap(nil, &tickEnd{panicked: true, value: v}) {
		w.later.add(w.e, v)
	}
	w.failed.Store(true)
}

// laterPanics counts the panics after the one a Tick or Run repeats, to
// log them in one line rather than one each: with 256 slots, an observer
// that panics at every send would log 255 lines a Tick.
type laterPanics struct {
	mu    sync.Mutex
	n     int
	first any  // the first one's value (nil: runtime.Goexit)
	told  bool // logged: one that comes later still is logged alone
	who   string
	where string // the log message
}

// add counts v, or logs it alone if the count has been logged.
func (l *laterPanics) add(e *Engine, v any) {
	l.mu.Lock()
	if l.told {
		l.mu.Unlock()
		e.logError(l.where, errLaterPanics(l.who, 1, v))
		return
	}
	if l.n == 0 {
		l.first = v
	}
	l.n++
	l.mu.Unlock()
}

// tell logs the panics counted, in one line.
func (l *laterPanics) tell(e *Engine) {
	l.mu.Lock()
	n, v := l.n, l.first
	l.n, l.first, l.told = 0, nil, true
	l.mu.Unlock()
	if n > 0 {
		e.logError(l.where, errLaterPanics(l.who, n, v))
	}
}

// reset readies l for the panics after the one who ("the Tick", "Run")
// repeats, logged with the message where.
func (l *laterPanics) reset(who, where string) {
	l.mu.Lock()
	l.n, l.first, l.told, l.who, l.where = 0, nil, false, who, where
	l.mu.Unlock()
}

// errLaterPanics is the error logged for n panics after the one that who
// ("the Tick", "Run") repeats (on other goroutines of a Tick's, or in
// other Ticks of Run's), the first of which is v (nil: runtime.Goexit).
func errLaterPanics(who string, n int, v any) error {
	what := fmt.Sprint(v)
	if v == nil {
		what = "runtime.Goexit"
	}
	if n == 1 {
		if v == nil {
			return fmt.Errorf("connector: a goroutine ended (runtime.Goexit) after another's panic, which %s repeats", who)
		}
		return fmt.Errorf("connector: a panic after another's, which %s repeats: %v", who, v)
	}
	return fmt.Errorf("connector: %d panics after another's, which %s repeats; the first: %s", n, who, what)
}

// unwinding ends the courier's work as a slot on the Tick's goroutine
// unwinds it: the keeper stops, with no wait, and the claims of feeds not
// handed out go back, unless stopGiving reports that the give-back on the
// end of the Tick's context has started. The Tick repeats its own
// goroutine's panic: one that unwound another of its goroutines before is
// logged with the later ones, as is any that comes after.
func (w *courier) unwinding(feeds []*feed, stopGiving func() bool) {
	if end := w.unwound.Swap(&tickEnd{panicked: true}); end != nil {
		w.later.add(w.e, end.value)
	}
	w.keep.abandon()
	if stopGiving() {
		w.giveBackUnwinding(feeds)
	}
	w.later.tell(w.e)
}

// giveBackUnwinding gives back the claims of feeds not handed out, as the
// Tick unwinds with its one slot's panic, so that the next Tick need not
// wait for their lease. A panic of the store's meanwhile is counted with
// the later ones: the Tick repeats its slot's.
func (w *courier) giveBackUnwinding(feeds []*feed) {
	returned := false
	defer func() {
		if !returned {
			w.later.add(w.e, recover())
		}
	}()
	for _, f := range feeds {
		f.giveBack()
	}
	returned = true
}
