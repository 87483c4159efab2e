package webhook_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
)

// TestAnHTTP2BodyThatDidNotArriveWholeGets503: over HTTP/2 (h2c here), a
// body that stalls past the server's ReadTimeout, or whose stream the
// client resets, gets 503 as over HTTP/1.1; one the client ends before
// its Content-Length, with the stream still open, is the client saying
// it is done and gets 400.
func TestAnHTTP2BodyThatDidNotArriveWholeGets503(t *testing.T) {
	for _, tc := range []struct {
		name   string
		end    func(body io.Closer, cancel context.CancelFunc)
		status int
	}{
		{"stalls", func(io.Closer, context.CancelFunc) {}, http.StatusServiceUnavailable},
		{"reset", func(_ io.Closer, cancel context.CancelFunc) { time.Sleep(time.Second); cancel() }, http.StatusServiceUnavailable},
		{"ended short", func(body io.Closer, _ context.CancelFunc) { body.Close() }, http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := watch(t)
				var h2c http.Protocols
				h2c.SetUnencryptedHTTP2(true)
				client := servePipe(t, &http.Server{Handler: h, ReadTimeout: 30 * time.Second, Protocols: &h2c})
				tr := &http.Transport{Protocols: &h2c, DialContext: func(context.Context, string, string) (net.Conn, error) { return client, nil }}
				defer tr.CloseIdleConnections()

				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				pr, pw := io.Pipe()
				r, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://hooks.example.com/hook", pr)
				require.NoError(t, err)
				r.ContentLength = 100
				done := make(chan struct{})
				go func() {
					defer close(done)
					if resp, err := tr.RoundTrip(r); err == nil {
						resp.Body.Close()
					}
				}()
				_, err = io.WriteString(pw, `[{"event":"deliv`)
				require.NoError(t, err)
				tc.end(pw, cancel)
				time.Sleep(time.Minute)
				synctest.Wait()
				require.Equal(t, tc.status, h.status)
				require.False(t, h.parsed)
				require.ErrorContains(t, h.reported, "webhook: reading body: ")
				cancel()
				pw.Close()
				<-done
			})
		})
	}
}
