package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/campaignconnector/campaignconnector/store/sqlite"
	"github.com/campaignconnector/campaignconnector/webhook"
	"github.com/campaignconnector/campaignconnector/webhook/sendgrid/sendgridtest"
	"github.com/stretchr/testify/require"
)

// syncBuffer is the server's output, written by its goroutines and read by
// the test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// week is the resend's delay unless -delay says otherwise.
const week = 7 * 24 * time.Hour

// sendGrid plays SendGrid: it posts batches to the server, signed.
type sendGrid struct {
	t      *testing.T
	signer *sendgridtest.Signer
	url    string
	clk    *clock.Mock
	n      int
}

// item is one event of a batch, at the clock's now.
func (s *sendGrid) item(kind, user string) map[string]any {
	s.n++
	return map[string]any{
		"email": user + "@example.com", "event": kind, "timestamp": s.clk.Now().Unix(),
		"sg_event_id": fmt.Sprintf("sg-%d", s.n), "campaign_id": "newsletter", "user_id": user,
	}
}

// post sends a batch signed by signer (SendGrid's own or a forger's) and
// returns the status and decoded response.
func (s *sendGrid) post(items []map[string]any, signer *sendgridtest.Signer) (int, webhook.Response) {
	s.t.Helper()
	body, err := json.Marshal(items)
	require.NoError(s.t, err)
	req, err := http.NewRequest(http.MethodPost, s.url, bytes.NewReader(body))
	require.NoError(s.t, err)
	req.Header = signer.Header(s.t, body, s.clk.Now())
	resp, err := http.DefaultClient.Do(req)
	require.NoError(s.t, err)
	defer resp.Body.Close()
	var r webhook.Response
	require.NoError(s.t, json.NewDecoder(resp.Body).Decode(&r))
	return resp.StatusCode, r
}

func TestResendToNonOpenersOverWebhooks(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewMock()
	clk.Set(time.Date(2026, time.January, 5, 9, 0, 0, 0, time.UTC))
	sg := &sendGrid{t: t, signer: sendgridtest.NewSigner(t), clk: clk}
	out := &syncBuffer{}
	engine, handler, err := newServer(ctx, clk, store.NewMemory(), sg.signer.VerificationKey(), week, out)
	require.NoError(t, err)
	srv := httptest.NewServer(handler)
	defer srv.Close()
	sg.url = srv.URL + "/webhooks/sendgrid"

	// SendGrid reports the newsletter delivered to ann and bob (and that it
	// processed it, which is not an interaction).
	delivered := []map[string]any{sg.item("processed", "ann"), sg.item("delivered", "ann"), sg.item("delivered", "bob")}
	status, resp := sg.post(delivered, sg.signer)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, webhook.Response{Tracked: 2}, resp)

	// A forged batch is refused and changes nothing.
	status, _ = sg.post([]map[string]any{sg.item("open", "ann")}, sendgridtest.NewSigner(t))
	require.Equal(t, http.StatusUnauthorized, status)

	// Bob opens it on day 2; SendGrid also retries the first batch.
	clk.Add(24 * time.Hour)
	status, _ = sg.post([]map[string]any{sg.item("open", "bob")}, sg.signer)
	require.Equal(t, http.StatusOK, status)
	status, _ = sg.post(delivered, sg.signer)
	require.Equal(t, http.StatusOK, status, "a retried batch is accepted; the engine ignores what it has seen")

	// An item without a user id is reported, not retried.
	noUser := sg.item("delivered", "cleo")
	delete(noUser, "user_id")
	status, resp = sg.post([]map[string]any{noUser}, sg.signer)
	require.Equal(t, http.StatusOK, status)
	require.Len(t, resp.Errors, 1)
	require.Contains(t, resp.Errors[0].Error, `no "user_id"`)

	// A week after delivery, the resend goes to the non-opener only.
	clk.Add(6 * 24 * time.Hour)
	sent, err := engine.Tick(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, sent)
	require.Contains(t, out.String(), `send resend to ann: {"subject":"In case you missed it"}`)
	require.NotContains(t, out.String(), "send resend to bob")
	require.Contains(t, out.String(), "webhook /webhooks/sendgrid: sendgrid: webhook: signature check failed")
	require.Contains(t, out.String(), "resend scheduled for ann, due 2026-01-12T09:00:00Z")
	require.Contains(t, out.String(), `resend cancelled for bob: exception (email_opened of "newsletter": waiting since 2026-01-05T09:00:00Z)`)
	require.Contains(t, out.String(), "resend duplicate for ann: duplicate_event")
}

func TestServerRefusesWhatItShould(t *testing.T) {
	clk := clock.NewMock()
	sg := &sendGrid{t: t, signer: sendgridtest.NewSigner(t), clk: clk}
	_, handler, err := newServer(context.Background(), clk, store.NewMemory(), sg.signer.VerificationKey(), week, &syncBuffer{})
	require.NoError(t, err)
	tests := []struct {
		name   string
		method string
		body   string
		status int
	}{
		{"GET", http.MethodGet, "", http.StatusMethodNotAllowed},
		{"unsigned POST", http.MethodPost, "[]", http.StatusUnauthorized},
		{"body over 1 MiB", http.MethodPost, "[" + strings.Repeat(" ", 1<<20) + "]", http.StatusRequestEntityTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			handler.ServeHTTP(w, httptest.NewRequest(tc.method, "/webhooks/sendgrid", strings.NewReader(tc.body)))
			require.Equal(t, tc.status, w.Code)
		})
	}
	_, _, err = newServer(context.Background(), clk, store.NewMemory(), "not a key", week, &syncBuffer{})
	require.Error(t, err, "a bad verification key is caught at start")
}

// With -db the pending resends survive a restart: the server is stopped
// (its store closed) after the newsletter's delivery and started again on
// the same file; the resend goes out a week later all the same, once.
func TestResendSurvivesARestartWithDB(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewMock()
	clk.Set(time.Date(2026, time.January, 5, 9, 0, 0, 0, time.UTC))
	sg := &sendGrid{t: t, signer: sendgridtest.NewSigner(t), clk: clk}
	path := filepath.Join(t.TempDir(), "campaigns.db")
	start := func() (*sqlite.Store, *syncBuffer, func() (int, error)) {
		s, err := sqlite.Open(ctx, path)
		require.NoError(t, err)
		out := &syncBuffer{}
		engine, handler, err := newServer(ctx, clk, s, sg.signer.VerificationKey(), week, out)
		require.NoError(t, err)
		srv := httptest.NewServer(handler)
		t.Cleanup(srv.Close)
		sg.url = srv.URL + "/webhooks/sendgrid"
		return s, out, func() (int, error) { return engine.Tick(ctx) }
	}

	first, _, _ := start()
	status, resp := sg.post([]map[string]any{sg.item("delivered", "ann")}, sg.signer)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, webhook.Response{Tracked: 1}, resp)
	require.NoError(t, first.Close())

	clk.Add(7 * 24 * time.Hour)
	second, out, tick := start()
	defer second.Close()
	sent, err := tick()
	require.NoError(t, err)
	require.Equal(t, 1, sent)
	require.Contains(t, out.String(), "send resend to ann")
	sent, err = tick()
	require.NoError(t, err)
	require.Zero(t, sent)
}

// -delay 1m lets an operator see the resend sent without waiting a week;
// a restart on the same file with another -delay edits the campaign for
// the resends it schedules next, and those already scheduled keep their
// due time.
func TestDelayFlagSetsWhenTheResendFallsDue(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewMock()
	clk.Set(time.Date(2026, time.January, 5, 9, 0, 0, 0, time.UTC))
	sg := &sendGrid{t: t, signer: sendgridtest.NewSigner(t), clk: clk}
	path := filepath.Join(t.TempDir(), "campaigns.db")
	start := func(delay time.Duration) (*syncBuffer, func() int) {
		s, err := sqlite.Open(ctx, path)
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, s.Close()) })
		out := &syncBuffer{}
		engine, handler, err := newServer(ctx, clk, s, sg.signer.VerificationKey(), delay, out)
		require.NoError(t, err)
		srv := httptest.NewServer(handler)
		t.Cleanup(srv.Close)
		sg.url = srv.URL + "/webhooks/sendgrid"
		return out, func() int {
			sent, err := engine.Tick(ctx)
			require.NoError(t, err)
			return sent
		}
	}

	first, _ := start(week)
	clk.Add(time.Second)
	status, _ := sg.post([]map[string]any{sg.item("delivered", "ann")}, sg.signer)
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, first.String(), "resend scheduled for ann, due 2026-01-12T09:00:01Z")

	out, tick := start(time.Minute)
	status, _ = sg.post([]map[string]any{sg.item("delivered", "bob")}, sg.signer)
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, out.String(), "resend scheduled for bob, due 2026-01-05T09:01:01Z")
	clk.Add(time.Minute)
	require.Equal(t, 1, tick())
	require.Contains(t, out.String(), "send resend to bob")
	require.NotContains(t, out.String(), "send resend to ann")
	clk.Add(week)
	require.Equal(t, 1, tick())
	require.Contains(t, out.String(), "send resend to ann")
}

// The curl command printed without -sendgrid-key shows the flow: the
// delivery it reports, sent to a server started a moment before, schedules
// ann's resend; on a restart with -db the resend is still pending, so the
// new command's delivery finds it. (serve prints the command after
// newServer, as this test does.)
func TestDemoRequestSchedulesTheResend(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewMock()
	clk.Set(time.Date(2026, time.January, 5, 9, 0, 0, 300_000_000, time.UTC))
	path := filepath.Join(t.TempDir(), "campaigns.db")
	run := func(want string) {
		t.Helper()
		s, err := sqlite.Open(ctx, path)
		require.NoError(t, err)
		defer func() { require.NoError(t, s.Close()) }()
		priv, key, err := demoKey()
		require.NoError(t, err)
		out := &syncBuffer{}
		_, handler, err := newServer(ctx, clk, s, key, week, out)
		require.NoError(t, err)
		srv := httptest.NewServer(handler)
		defer srv.Close()
		require.NoError(t, printDemoRequest(strings.TrimPrefix(srv.URL, "http://"), priv, clk.Now(), out))

		status, err := runDemoCommand(out.String())
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, status)
		require.Contains(t, out.String(), want)
	}
	run("resend scheduled for ann, due 2026-01-12T09:00:01Z")
	clk.Add(time.Minute) // a restart, later
	run("resend suppressed for ann: already_pending")
}

// runDemoCommand sends the request of the curl command in out, as curl
// would, and returns its status.
func runDemoCommand(out string) (int, error) {
	curl := regexp.MustCompile(`curl -si (\S+) -H '([^:]+): ([^']+)' -H '([^:]+): ([^']+)' -d '([^']+)'`).FindStringSubmatch(out)
	if curl == nil {
		return 0, fmt.Errorf("no curl command in %q", out)
	}
	req, err := http.NewRequest(http.MethodPost, curl[1], strings.NewReader(curl[6]))
	if err != nil {
		return 0, err
	}
	req.Header.Set(curl[2], curl[3])
	req.Header.Set(curl[4], curl[5])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	return resp.StatusCode, resp.Body.Close()
}

// The demo command names a host and port curl can reach when the server
// listens on every interface and on a port the system picks (-addr :0):
// localhost and that port.
func TestDemoCommandWorksOnEveryInterface(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var status int // of the demo command, read once serve has returned
	var demoErr error
	out := &onListening{}
	out.do = func(string) {
		defer cancel()
		status, demoErr = runDemoCommand(out.String())
	}
	require.NoError(t, serve(ctx, ":0", "", "", week, out))
	require.NoError(t, demoErr)
	require.Equal(t, http.StatusOK, status)
	require.Regexp(t, `curl -si http://localhost:[1-9][0-9]*/webhooks/sendgrid `, out.String())
	require.Contains(t, out.String(), "resend scheduled for ann")
}

// A busy port is an error of serve, at once: it does not say it listens,
// nor wait for a shutdown that never comes.
func TestServeFailsOnABusyPort(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()
	var out syncBuffer
	err = serve(context.Background(), busy.Addr().String(), "", "", week, &out)
	require.ErrorContains(t, err, "address already in use")
	require.NotContains(t, out.String(), "listening on")
	require.NotContains(t, out.String(), "curl", "no command for a server that does not run")
}

// onListening is serve's output, which calls do in a goroutine of its own
// once serve says where it listens, with the URL it names.
type onListening struct {
	syncBuffer
	do func(url string)
}

func (o *onListening) Write(p []byte) (int, error) {
	if m := regexp.MustCompile(`listening on (\S+)`).FindSubmatch(p); m != nil {
		go o.do(string(m[1]))
	}
	return o.syncBuffer.Write(p)
}

// serve says what it keeps and, on its way out, each step of its stop:
// a restart on the same file shows the resend scheduled before it.
func TestServeSaysHowItStops(t *testing.T) {
	path := filepath.Join(t.TempDir(), "campaigns.db")
	signer := sendgridtest.NewSigner(t)
	run := func(post bool) string {
		t.Helper()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var status int // of the post, read once serve has returned
		var postErr error
		out := &onListening{do: func(url string) {
			defer cancel()
			if !post {
				return
			}
			// serve runs on the wall clock and published the resend
			// before it said it listens: the delivery is stamped at the
			// second after now, as the demo command's is, so that it
			// comes after the publication however long serve took.
			at := time.Now().Truncate(time.Second).Add(time.Second)
			body := fmt.Appendf(nil, `[{"event":"delivered","sg_event_id":"sg-1","timestamp":%d,"campaign_id":"newsletter","user_id":"ann"}]`, at.Unix())
			header := signer.Header(t, body, at)
			req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
			if err != nil {
				postErr = err
				return
			}
			req.Header = header
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				postErr = err
				return
			}
			status = resp.StatusCode
			postErr = resp.Body.Close()
		}}
		require.NoError(t, serve(ctx, "127.0.0.1:0", signer.VerificationKey(), path, week, out))
		if post {
			require.NoError(t, postErr)
			require.Equal(t, http.StatusOK, status)
		}
		return out.String()
	}
	first := run(true)
	require.Regexp(t, `(?s)^keeping state in \S+: 0 resends pending\n`+
		`listening on .*resend scheduled for ann, .*\n`+
		`stopping: answering the requests in progress \(for up to 5s\) and recording the sends in progress\n`+
		`stopped\n$`, first)
	second := run(false)
	require.Regexp(t, `(?s)^keeping state in \S+: 1 resends pending\n`+
		`listening on .*\nstopping: .*\nstopped\n$`, second)
}

// A -delay of zero or less is refused in the flag's own words: the engine
// would refuse the campaign as an immediate follow-up with exceptions.
func TestServeRefusesADelayThatIsNotPositive(t *testing.T) {
	for _, d := range []time.Duration{0, -time.Minute} {
		var out strings.Builder
		err := serve(context.Background(), "127.0.0.1:0", "", "", d, &out)
		if err == nil || !strings.Contains(err.Error(), "-delay") {
			t.Errorf("-delay %v: %v, want an error naming -delay", d, err)
		}
		if strings.Contains(out.String(), "listening") {
			t.Errorf("-delay %v: it listened:\n%s", d, out.String())
		}
	}
}
