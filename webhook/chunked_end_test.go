package webhook_test

import (
	"io"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/webhook"
	"github.com/stretchr/testify/require"
)

// chunkedHead starts a request whose body comes in chunks.
const chunkedHead = "POST /hook HTTP/1.1\r\nHost: hooks.example.com\r\nTransfer-Encoding: chunked\r\n\r\n"

// TestAChunkedBodyWhoseEndStallsIsAnsweredSoThatTheProviderRetries: a
// chunked body stalls past the server's ReadTimeout anywhere, within a
// chunk, between chunks or after its last chunk (net/http then reports no
// timeout but a trailer that ended early), and the provider gets a 503,
// which it retries; the parser sees nothing, and the error callback gets
// the read's error.
func TestAChunkedBodyWhoseEndStallsIsAnsweredSoThatTheProviderRetries(t *testing.T) {
	for _, tc := range []struct{ name, sent string }{
		{"within a chunk", "10\r\n[{\"ev"},
		{"between chunks", "2\r\n[]\r\n"},
		{"after the last chunk", "2\r\n[]\r\n0\r\n"},
		{"within the trailer", "2\r\n[]\r\n0\r\nX-Sent: 1"},
		{"before the end of the trailer", "2\r\n[]\r\n0\r\nX-Sent: 1\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := watch(t)
				status, body, took := askOverPipe(t, h, chunkedHead+tc.sent)
				require.Equal(t, http.StatusServiceUnavailable, status, body)
				require.Contains(t, body, "send it again")
				require.Equal(t, 30*time.Second, took, "answered when the ReadTimeout passed")
				require.False(t, h.parsed, "a body that did not arrive whole went to the parser")
				require.ErrorContains(t, h.reported, "webhook: reading body: ")
			})
		})
	}
}

// TestAChunkedBodyCutAnywhereGetsTheRetryStatus: a connection cut within
// a chunked body, its trailer included, gets the status that asks for a
// retry (the client is gone, but a proxy in between may read it), as a
// body cut before its Content-Length does.
func TestAChunkedBodyCutAnywhereGetsTheRetryStatus(t *testing.T) {
	for _, tc := range []struct{ name, sent string }{
		{"within a chunk", "10\r\n[{\"ev"},
		{"between chunks", "2\r\n[]\r\n"},
		{"after the last chunk", "2\r\n[]\r\n0\r\n"},
		{"within the trailer", "2\r\n[]\r\n0\r\nX-Sent: 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := watch(t)
				client := servePipe(t, &http.Server{Handler: h, ReadTimeout: 30 * time.Second})

				_, err := io.WriteString(client, chunkedHead+tc.sent)
				require.NoError(t, err)
				require.NoError(t, client.Close())
				synctest.Wait()
				require.Equal(t, http.StatusServiceUnavailable, h.status)
				require.False(t, h.parsed)
				require.Error(t, h.reported)
			})
		})
	}
}

// TestAMalformedChunkedBodyGets400: a chunked body the server cannot
// decode is the client's fault, and a retry sends it the same: 400.
func TestAMalformedChunkedBodyGets400(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h, err := webhook.NewHandler(returns([]event.Event{evA}, nil), &recorder{})
		require.NoError(t, err)
		status, body, _ := askOverPipe(t, h, chunkedHead+"zz\r\n[]\r\n0\r\n\r\n")
		require.Equal(t, http.StatusBadRequest, status, body)
		require.JSONEq(t, `{"tracked":0,"error":"reading body failed"}`, body)
	})
}
