package webhook_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/webhook"
	"github.com/stretchr/testify/require"
)

// pipeListener hands an http.Server one end of a net.Pipe, whose
// deadlines run on the synctest bubble's clock, then waits until closed.
type pipeListener struct {
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return &net.UnixAddr{Name: "pipe", Net: "unix"} }

// servePipe serves srv over one net.Pipe, whose deadlines run on the
// synctest bubble's clock, and returns the client's end. Cleanup ends the
// server's goroutines, the connection's included, whatever the test
// found.
func servePipe(t *testing.T, srv *http.Server) net.Conn {
	l := &pipeListener{conns: make(chan net.Conn, 1), closed: make(chan struct{})}
	client, server := net.Pipe()
	l.conns <- server
	closed := make(chan struct{})
	srv.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateClosed {
			close(closed)
		}
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	t.Cleanup(func() {
		client.Close()
		srv.Close()
		<-served
		<-closed // the connection's goroutine has ended
	})
	return client
}

// watched is a Handler that notes whether its parser ran, the error its
// callback got and the status it answered.
type watched struct {
	http.Handler
	parsed   bool
	reported error
	status   int
}

// watch returns a watched Handler whose parser returns one event, and
// whose replies are the JSON Response.
func watch(t *testing.T) *watched {
	w := &watched{}
	p := webhook.ParserFunc(func(*http.Request, []byte) ([]event.Event, error) {
		w.parsed = true
		return []event.Event{evA}, nil
	})
	h, err := webhook.NewHandler(p, &recorder{},
		webhook.WithErrorFunc(func(_ *http.Request, err error) { w.reported = err }),
		webhook.WithReplyFunc(func(rw http.ResponseWriter, _ *http.Request, status int, resp webhook.Response) {
			w.status = status
			rw.WriteHeader(status)
			_ = json.NewEncoder(rw).Encode(resp) // the client may be gone
		}))
	require.NoError(t, err)
	w.Handler = h
	return w
}

// askOverPipe sends raw, a request as its client writes it, to h served
// over a pipe with a ReadTimeout of 30 s, and returns the answer's status
// and body and how long it took.
func askOverPipe(t *testing.T, h http.Handler, raw string) (status int, body string, took time.Duration) {
	client := servePipe(t, &http.Server{Handler: h, ReadTimeout: 30 * time.Second})
	start := time.Now()
	_, err := io.WriteString(client, raw)
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(client), nil)
	require.NoError(t, err)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b), time.Since(start)
}

// TestASlowUploadIsAnsweredSoThatTheProviderRetries: a provider whose
// upload stalls past the server's ReadTimeout, as the docs advise setting
// it, gets a 503, which SendGrid, Mailgun and SNS retry, not a 4xx, which
// Amazon SNS never retries: the event would be lost. The parser sees
// nothing.
func TestASlowUploadIsAnsweredSoThatTheProviderRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := watch(t)
		// Headers and the first bytes of a body of 100, then nothing.
		status, body, took := askOverPipe(t, h, "POST /hook HTTP/1.1\r\nHost: hooks.example.com\r\nContent-Length: 100\r\n\r\n[{\"event\":\"deliv")
		require.Equal(t, http.StatusServiceUnavailable, status, body)
		require.JSONEq(t, `{"tracked":0,"error":"reading body timed out: send it again"}`, body)
		require.Equal(t, 30*time.Second, took, "answered when the ReadTimeout passed")
		require.False(t, h.parsed, "half a payload went to the parser")
		require.ErrorIs(t, h.reported, os.ErrDeadlineExceeded)
	})
}

// TestAStalledBodyRefusedForItsSizeOrEncodingKeepsItsStatus: a body the
// handler refuses for its size or its encoding gets 413 or 415 even when
// it then stalls past the ReadTimeout (net/http reads an unread body of
// less than 256 KiB to its end before it answers, so the answer may come
// at the timeout): a stall does not turn a body too big into one to send
// again.
func TestAStalledBodyRefusedForItsSizeOrEncodingKeepsItsStatus(t *testing.T) {
	for _, tc := range []struct {
		name   string
		sent   string
		status int
	}{
		{"Content-Length over the limit", "POST /hook HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\n[", http.StatusRequestEntityTooLarge},
		{"chunks over the limit", "POST /hook HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n14\r\n[{\"event\":\"delivered\"", http.StatusRequestEntityTooLarge},
		{"compressed", "POST /hook HTTP/1.1\r\nHost: h\r\nContent-Encoding: gzip\r\nContent-Length: 10\r\n\r\n[", http.StatusUnsupportedMediaType},
		{"compressed in chunks over the limit", "POST /hook HTTP/1.1\r\nHost: h\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n14\r\n[{\"event\":\"delivered\"", http.StatusUnsupportedMediaType},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h, err := webhook.NewHandler(returns([]event.Event{evA}, nil), &recorder{}, webhook.WithMaxBodySize(16))
				require.NoError(t, err)
				client := servePipe(t, &http.Server{Handler: h, ReadTimeout: 30 * time.Second})

				_, err = io.WriteString(client, tc.sent)
				require.NoError(t, err)
				resp, err := http.ReadResponse(bufio.NewReader(client), nil)
				require.NoError(t, err)
				require.Equal(t, tc.status, resp.StatusCode)
			})
		})
	}
}
