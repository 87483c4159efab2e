package connector

// guard runs f, on one of the courier's goroutines other than the
// Tick's, and reports whether it returned. A panic that unwinds it (the
// store's, an observer's, the directory's), or runtime.Goexit (a sender
// that calls t.FailNow), ends that goroutine rather than the process: the
// first is kept, for the Tick to repeat on its goroutine, and no new send
// starts.
func (w *courier) guard(f func()) (returned bool) {
	defer func() {
		if !returned {
			w.unwound.CompareAndSwap(nil, &tickEnd{panicked: true, value: recover()})
			w.failed.Store(true)
		}
	}()
	f()
	return true
}
