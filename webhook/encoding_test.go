package webhook_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/webhook"
	"github.com/campaignconnector/campaignconnector/webhook/sendgrid"
	"github.com/campaignconnector/campaignconnector/webhook/sendgrid/sendgridtest"
	"github.com/stretchr/testify/require"
)

// TestACompressedBodyIsRefusedUnread: a signed SendGrid batch that a proxy
// compressed on its way gets 415, which names the coding, before the
// handler reads a byte of it, rather than a 401 for a signature that
// holds over the body SendGrid wrote; the error callback gets an
// *EncodingError.
func TestACompressedBodyIsRefusedUnread(t *testing.T) {
	signer := sendgridtest.NewSigner(t)
	p, err := sendgrid.New(signer.VerificationKey())
	require.NoError(t, err)
	batch := []byte(`[{"event":"delivered","sg_event_id":"sg-ann","timestamp":1767603600,"campaign_id":"newsletter","user_id":"ann"}]`)
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	_, err = zw.Write(batch)
	require.NoError(t, err)
	require.NoError(t, zw.Close())

	rec := &recorder{}
	var reported error
	h, err := webhook.NewHandler(p, rec, webhook.WithErrorFunc(func(_ *http.Request, err error) { reported = err }))
	require.NoError(t, err)
	r := signer.Request(t, "/webhooks/sendgrid", batch, time.Unix(1767603600, 0))
	body := &countingBody{r: bytes.NewReader(zipped.Bytes())}
	r.Body, r.ContentLength = body, int64(zipped.Len())
	r.Header.Set("Content-Encoding", "gzip")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)

	require.Equal(t, http.StatusUnsupportedMediaType, w.Code, w.Body.String())
	require.JSONEq(t, `{"tracked":0,"error":"Content-Encoding \"gzip\" not supported: send the body uncompressed"}`, w.Body.String())
	require.Equal(t, "identity", w.Header().Get("Accept-Encoding"))
	require.Zero(t, body.read, "not a byte read")
	require.Empty(t, rec.got)
	var encoded *webhook.EncodingError
	require.ErrorAs(t, reported, &encoded)
	require.Equal(t, "gzip", encoded.Encoding)
	require.EqualError(t, reported,
		`webhook: body sent with Content-Encoding "gzip": only a body sent as the provider wrote it can be checked`)
}

// TestContentEncodings: identity, in any case, and an empty field are the
// body as it is; any other coding, alone, listed or in a second field, is
// refused under its own name, cut short when it is long.
func TestContentEncodings(t *testing.T) {
	long := strings.Repeat("x", 10000)
	for _, tc := range []struct {
		name   string
		fields []string
		refuse string // the coding refused, or "" for a 200
	}{
		{"none", nil, ""},
		{"empty", []string{""}, ""},
		{"identity", []string{"identity"}, ""},
		{"Identity", []string{" Identity "}, ""},
		{"gzip", []string{"gzip"}, "gzip"},
		{"GZIP", []string{"GZIP"}, "GZIP"},
		{"br", []string{"br"}, "br"},
		{"a list", []string{"identity, deflate, gzip"}, "deflate"},
		{"a second field", []string{"identity", "zstd"}, "zstd"},
		{"a long name", []string{long}, long[:64]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			var reported error
			h, err := webhook.NewHandler(returns([]event.Event{evA}, nil), rec,
				webhook.WithErrorFunc(func(_ *http.Request, err error) { reported = err }))
			require.NoError(t, err)
			r := httptest.NewRequest(http.MethodPost, "/hook", strings.NewReader("{}"))
			for _, f := range tc.fields {
				r.Header.Add("Content-Encoding", f)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if tc.refuse == "" {
				require.Equal(t, http.StatusOK, w.Code, w.Body.String())
				require.NoError(t, reported)
				require.Len(t, rec.got, 1)
				return
			}
			require.Equal(t, http.StatusUnsupportedMediaType, w.Code, w.Body.String())
			require.Empty(t, rec.got)
			var encoded *webhook.EncodingError
			require.ErrorAs(t, reported, &encoded)
			require.Equal(t, tc.refuse, encoded.Encoding)
		})
	}
}

// TestAReplyFuncGets415: a ReplyFunc writes the 415 of an encoded body
// with the handler's status and its Accept-Encoding header already set.
func TestAReplyFuncGets415(t *testing.T) {
	var got int
	h, err := webhook.NewHandler(returns([]event.Event{evA}, nil), &recorder{},
		webhook.WithReplyFunc(func(w http.ResponseWriter, _ *http.Request, status int, resp webhook.Response) {
			got = status
			require.Equal(t, "identity", w.Header().Get("Accept-Encoding"))
			_, _ = io.WriteString(w, resp.Error)
		}))
	require.NoError(t, err)
	r := httptest.NewRequest(http.MethodPost, "/hook", strings.NewReader("{}"))
	r.Header.Set("Content-Encoding", "gzip")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	require.Equal(t, http.StatusUnsupportedMediaType, got)
	require.Equal(t, http.StatusUnsupportedMediaType, w.Code)
	require.Contains(t, w.Body.String(), `"gzip"`)
}

// TestACompressedBodyOverTheLimitGets415: the coding is checked before
// the size, so a compressed body whose Content-Length is over the limit
// gets 415, which says what to change, rather than 413, and is not read.
func TestACompressedBodyOverTheLimitGets415(t *testing.T) {
	h, err := webhook.NewHandler(returns([]event.Event{evA}, nil), &recorder{}, webhook.WithMaxBodySize(16))
	require.NoError(t, err)
	body := &countingBody{r: strings.NewReader(strings.Repeat("x", 64))}
	r := httptest.NewRequest(http.MethodPost, "/hook", nil)
	r.Body, r.ContentLength = body, 64
	r.Header.Set("Content-Encoding", "gzip")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	require.Equal(t, http.StatusUnsupportedMediaType, w.Code, w.Body.String())
	require.Zero(t, body.read, "not a byte read")
}
