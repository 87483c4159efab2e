package dashboard

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/synctest"
	"time"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/store"
)

// hungStore is a memory store whose Stats answers only when its context
// ends, as a database that stopped answering does.
type hungStore struct{ *store.Memory }

func (hungStore) Stats(ctx context.Context, _ string) (store.Stats, error) {
	<-ctx.Done()
	return store.Stats{}, ctx.Err()
}

// A host's http.TimeoutHandler, shorter than the store timeout, still
// bounds a page on a hung store: the page's reads end with the request's
// context, so the handler returns and the browser gets the timeout's 503
// at the deadline.
func TestATimeoutHandlerBoundsAPageOnAHungStore(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		send := connector.SenderFunc(func(context.Context, connector.Delivery) error { return nil })
		e, err := connector.New(hungStore{store.NewMemory()}, send)
		if err != nil {
			t.Fatal(err)
		}
		h, err := New(e, quietLogger())
		if err != nil {
			t.Fatal(err)
		}
		bounded := http.TimeoutHandler(h, 15*time.Second, "the campaign store did not answer in time")
		start := time.Now()
		rec := httptest.NewRecorder()
		returned := make(chan struct{})
		go func() {
			defer close(returned)
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/health", nil))
		}()
		bounded.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/health", nil))
		if rec.Code != http.StatusServiceUnavailable {
			t.Errorf("status %d, want 503", rec.Code)
		}
		if waited := time.Since(start); waited != 15*time.Second {
			t.Errorf("answered after %v, want the 15 s deadline", waited)
		}
		synctest.Wait()
		select {
		case <-returned:
			t.Error("the unbounded page returned while its store still hung")
		default:
		}
	})
}
