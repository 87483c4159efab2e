package webhook_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/webhook"
	"github.com/stretchr/testify/require"
)

// TestARequestWithoutBodyIsAnEmptyBody: a request built with
// http.NewRequest and no body (its Body is nil) reaches the parser with
// an empty body, where it used to panic in the handler.
func TestARequestWithoutBodyIsAnEmptyBody(t *testing.T) {
	var got []byte
	called := false
	p := webhook.ParserFunc(func(_ *http.Request, body []byte) ([]event.Event, error) {
		called, got = true, body
		return nil, nil
	})
	h, err := webhook.NewHandler(p, &recorder{})
	require.NoError(t, err)
	r, err := http.NewRequest(http.MethodPost, "/hook", nil)
	require.NoError(t, err)
	require.Nil(t, r.Body)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	require.True(t, called)
	require.Empty(t, got)
}

// failingBody yields its text, then fails with err.
type failingBody struct {
	r   io.Reader
	err error
}

func (b *failingBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err == io.EOF {
		err = b.err
	}
	return n, err
}

func (b *failingBody) Close() error { return nil }

// TestABodyThatCannotBeReadIsNotParsed: a body that ends before its
// Content-Length (the connection was cut), whose read times out (the
// server's ReadTimeout ended a slow upload) or whose read fails otherwise
// never reaches the parser, which would see half a payload; the error
// callback gets the read's error. A body that did not arrive whole gets
// 503, which SendGrid, Mailgun and SNS retry (Amazon SNS drops an event
// answered with a 4xx); any other read error gets 400.
func TestABodyThatCannotBeReadIsNotParsed(t *testing.T) {
	for _, tc := range []struct {
		name   string
		err    error
		status int
		text   string
	}{
		{"ends early", io.ErrUnexpectedEOF, http.StatusServiceUnavailable, "body did not arrive whole: send it again"},
		{"times out", os.ErrDeadlineExceeded, http.StatusServiceUnavailable, "reading body timed out: send it again"},
		{"times out on the connection", &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}, http.StatusServiceUnavailable, "reading body timed out: send it again"},
		{"malformed", errors.New("malformed chunked encoding"), http.StatusBadRequest, "reading body failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			called := false
			p := webhook.ParserFunc(func(*http.Request, []byte) ([]event.Event, error) {
				called = true
				return []event.Event{evA}, nil
			})
			var reported error
			rec := &recorder{}
			h, err := webhook.NewHandler(p, rec, webhook.WithErrorFunc(func(_ *http.Request, err error) { reported = err }))
			require.NoError(t, err)
			r := httptest.NewRequest(http.MethodPost, "/hook", &failingBody{strings.NewReader(`[{"event":"deliv`), tc.err})
			r.ContentLength = 100
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			require.Equal(t, tc.status, w.Code)
			require.JSONEq(t, fmt.Sprintf(`{"tracked":0,"error":%q}`, tc.text), w.Body.String())
			require.False(t, called, "half a payload went to the parser")
			require.Empty(t, rec.got)
			require.ErrorIs(t, reported, tc.err)
		})
	}
}

// TestAContentLengthUnderTheBodyIsNoWayPastTheLimit: a body longer than
// its Content-Length, which is under the limit, is still cut at the limit
// and answered 413.
func TestAContentLengthUnderTheBodyIsNoWayPastTheLimit(t *testing.T) {
	h, err := webhook.NewHandler(returns([]event.Event{evA}, nil), &recorder{}, webhook.WithMaxBodySize(100))
	require.NoError(t, err)
	body := &countingBody{r: strings.NewReader(strings.Repeat("x", 10000))}
	r := httptest.NewRequest(http.MethodPost, "/hook", body)
	r.ContentLength = 10
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	require.Equal(t, http.StatusRequestEntityTooLarge, w.Code)
	require.LessOrEqual(t, body.read, 101+512, "read about the limit, not the body") // io.ReadAll reads in chunks of at least 512 bytes
}
