package postmarktest_test

import (
	"io"
	"net/http"
	"testing"

	"github.com/campaignconnector/campaignconnector/webhook/postmark/postmarktest"
	"github.com/stretchr/testify/require"
)

func TestRequestCarriesTheCredentials(t *testing.T) {
	c := postmarktest.NewCredentials()
	body := []byte(`{"RecordType":"Open"}`)
	r := c.Request("https://hooks.example.com/webhooks/postmark", body)
	require.Equal(t, http.MethodPost, r.Method)
	require.Equal(t, "/webhooks/postmark", r.URL.Path)
	require.Equal(t, "application/json", r.Header.Get("Content-Type"))
	user, password, ok := r.BasicAuth()
	require.True(t, ok)
	require.Equal(t, c.User, user)
	require.Equal(t, c.Password, password)
	require.Equal(t, c.HeaderValue, r.Header.Get(postmarktest.DefaultHeaderName))
	got, err := io.ReadAll(r.Body)
	require.NoError(t, err)
	require.Equal(t, body, got)
}

func TestEmptyFieldsAreNotSent(t *testing.T) {
	c := postmarktest.NewCredentials()
	basic := postmarktest.Credentials{User: c.User, Password: c.Password}
	require.Empty(t, basic.Header().Get(postmarktest.DefaultHeaderName))
	require.Len(t, basic.Options(), 1)
	header := postmarktest.Credentials{HeaderName: c.HeaderName, HeaderValue: c.HeaderValue}
	require.Empty(t, header.Header().Get("Authorization"))
	require.Len(t, header.Options(), 1)
	require.Empty(t, postmarktest.Credentials{}.Options())
}

func TestCredentialsAreRandom(t *testing.T) {
	a, b := postmarktest.NewCredentials(), postmarktest.NewCredentials()
	require.NotEqual(t, a.Password, b.Password)
	require.NotEqual(t, a.HeaderValue, b.HeaderValue)
	require.GreaterOrEqual(t, len(a.Password), 20)
}
