package connector

import "fmt"

// guard runs f, on one of the courier's goroutines other than the
// Tick's, and reports whether it returned. A panic that unwinds it (the
// store's, an observer's, the directory's), or runtime.Goexit (a sender
// that calls t.FailNow), ends that goroutine rather than the process: the
// first is kept, for the Tick to repeat on its goroutine, and no new send
// starts. One that comes after it, which nothing repeats, is logged.
func (w *courier) guard(f func()) (returned bool) {
	defer func() {
		if !returned {
			v := recover()
			if !w.unwound.CompareAndSwap(nil, &tickEnd{panicked: true, value: v}) {
				w.e.logError("tick", errLaterPanic("the Tick", v))
			}
			w.failed.Store(true)
		}
	}()
	f()
	return true
}

// errLaterPanic is the error logged for v, a panic (nil: runtime.Goexit)
// after the one that who ("the Tick", "Run") repeats: on another of a
// Tick's goroutines, or in another of Run's Ticks.
func errLaterPanic(who string, v any) error {
	if v == nil {
		return fmt.Errorf("connector: a goroutine ended (runtime.Goexit) after another's panic, which %s repeats", who)
	}
	return fmt.Errorf("connector: a panic after another's, which %s repeats: %v", who, v)
}

// giveBackUnwinding gives back the claims of feeds not handed out, as the
// Tick unwinds with its one slot's panic, so that the next Tick need not
// wait for their lease. A panic of the store's meanwhile is dropped: the
// Tick repeats its slot's.
func giveBackUnwinding(feeds []*feed) {
	defer func() { _ = recover() }()
	for _, f := range feeds {
		f.giveBack()
	}
}
