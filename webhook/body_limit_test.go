package webhook_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/webhook"
	"github.com/stretchr/testify/require"
)

// countingBody counts the bytes read from it.
type countingBody struct {
	r    io.Reader
	read int
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.read += n
	return n, err
}

func (b *countingBody) Close() error { return nil }

// TestABodyDeclaredOverTheLimitIsNotRead: a request whose Content-Length
// is over the limit gets its 413 before the handler reads a byte of it
// (with Expect: 100-continue, the client then sends none), and the error
// callback hears of it as of a body found too large while reading.
func TestABodyDeclaredOverTheLimitIsNotRead(t *testing.T) {
	body := &countingBody{r: strings.NewReader(strings.Repeat("x", 1000))}
	var reported error
	h, err := webhook.NewHandler(returns([]event.Event{evA}, nil), &recorder{},
		webhook.WithMaxBodySize(100), webhook.WithErrorFunc(func(_ *http.Request, err error) { reported = err }))
	require.NoError(t, err)
	r := httptest.NewRequest(http.MethodPost, "/hook", body)
	r.ContentLength = 1000
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	require.Equal(t, http.StatusRequestEntityTooLarge, w.Code)
	require.JSONEq(t, `{"tracked":0,"error":"body over 100 bytes"}`, w.Body.String())
	require.Zero(t, body.read, "not a byte read")
	var tooBig *http.MaxBytesError
	require.ErrorAs(t, reported, &tooBig)
	require.Equal(t, int64(100), tooBig.Limit)

	t.Run("a body that says nothing of its length is read up to the limit", func(t *testing.T) {
		body := &countingBody{r: strings.NewReader(strings.Repeat("x", 1000))}
		r := httptest.NewRequest(http.MethodPost, "/hook", body)
		r.ContentLength = -1 // chunked
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		require.Equal(t, http.StatusRequestEntityTooLarge, w.Code)
		require.LessOrEqual(t, body.read, 101, "the limit and one byte to tell")
	})
}
