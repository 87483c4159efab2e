package dashboard

import (
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func TestBasicAuthGuardsEveryAddress(t *testing.T) {
	h := mustHandler(t, populatedFake(), WithBasicAuth("admin", "s3cret"), WithPrefix("/ops"), WithActions())
	for _, target := range []string{"/ops/", "/ops/health", "/ops/" + assetURL("app.css"), "/ops", "/ops/nothing"} {
		for _, tc := range []struct {
			name       string
			user, pass string
			set        bool
			allowed    bool
		}{
			{"no credentials", "", "", false, false},
			{"a wrong password", "admin", "s3cre", true, false},
			{"a password with more", "admin", "s3cret!", true, false},
			{"a wrong user", "root", "s3cret", true, false},
			{"empty credentials", "", "", true, false},
			{"the right credentials", "admin", "s3cret", true, true},
		} {
			req := httptest.NewRequest(http.MethodGet, target, nil)
			if tc.set {
				req.SetBasicAuth(tc.user, tc.pass)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if tc.allowed {
				if rec.Code == http.StatusUnauthorized {
					t.Errorf("GET %s with %s: 401", target, tc.name)
				}
				continue
			}
			if rec.Code != http.StatusUnauthorized || !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Basic ") {
				t.Errorf("GET %s with %s: %d, WWW-Authenticate %q; want 401 and a Basic challenge",
					target, tc.name, rec.Code, rec.Header().Get("WWW-Authenticate"))
			}
			if strings.Contains(rec.Body.String(), "resend") {
				t.Errorf("GET %s with %s shows the dashboard", target, tc.name)
			}
		}
	}
	// A POST without credentials never reaches the action.
	f := populatedFake()
	h = mustHandler(t, f, WithBasicAuth("admin", "s3cret"), WithActions())
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/action", strings.NewReader("op=stop&id=resend")))
	if rec.Code != http.StatusUnauthorized || len(f.actions()) != 0 {
		t.Errorf("POST without credentials: %d, actions %v", rec.Code, f.actions())
	}
}

func TestActionsAreLoggedWithTheSignedInUser(t *testing.T) {
	var logs strings.Builder
	f := populatedFake()
	h := mustHandler(t, f, WithBasicAuth("admin", "s3cret"), WithActions(),
		WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	ck, token := startSession(t, h, asAdmin)
	if rec := post(h, url.Values{"op": {"stop"}, "id": {"resend"}, "csrf": {token}}, ck, asAdmin); rec.Code != http.StatusSeeOther {
		t.Fatalf("stop: %d", rec.Code)
	}
	if !strings.Contains(logs.String(), "campaign=resend user=admin") {
		t.Errorf("the log does not say who stopped what: %s", logs.String())
	}
}

// TestActionsAreLoggedWithTheHostsActor: under the host's own
// authentication, WithActor names who made each action, carried out or
// refused, and takes precedence over the basic auth user name.
func TestActionsAreLoggedWithTheHostsActor(t *testing.T) {
	var logs strings.Builder
	f := populatedFake()
	h := mustHandler(t, f, WithActions(), WithBasicAuth("admin", "s3cret"),
		WithActor(func(r *http.Request) string { return r.Header.Get("X-Auth-Email") }),
		WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	ck, token := startSession(t, h, asAdmin)
	act := func(csrf, who string) int {
		headers := map[string]string{"X-Auth-Email": who}
		maps.Copy(headers, asAdmin)
		return post(h, url.Values{"op": {"stop"}, "id": {"resend"}, "csrf": {csrf}}, ck, headers).Code
	}
	if code := act("forged", "mallory@example.com"); code != http.StatusForbidden {
		t.Fatalf("forged token: %d", code)
	}
	if code := act(token, "ann@example.com"); code != http.StatusSeeOther {
		t.Fatalf("stop: %d", code)
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "action refused") || !strings.Contains(lines[0], "user=mallory@example.com") ||
		!strings.Contains(lines[1], "campaign=resend user=ann@example.com") || strings.Contains(logs.String(), "user=admin") {
		t.Errorf("the log does not say who did what: %s", logs.String())
	}
	if got := f.actions(); len(got) != 1 || got[0] != "stop resend" {
		t.Errorf("actions %v, want the stop", got)
	}
}

func TestWithActorNeedsActions(t *testing.T) {
	for _, opts := range [][]Option{
		{WithActor(func(*http.Request) string { return "x" })},
		{WithActions(), WithActor(nil)},
	} {
		if _, err := newHandler(populatedFake(), opts...); !errors.Is(err, ErrInvalidOption) {
			t.Errorf("New: %v, want ErrInvalidOption", err)
		}
	}
}

// TestActionsRefusedByTheEngineAreLogged: an action the lifecycle or the
// form refuses (a conflict, an unknown campaign, a missing confirmation)
// is in the audit trail too, with who asked and why it was refused.
func TestActionsRefusedByTheEngineAreLogged(t *testing.T) {
	var logs strings.Builder
	f := populatedFake()
	h := mustHandler(t, f, WithActions(), WithActor(func(r *http.Request) string { return r.Header.Get("X-Auth-Email") }),
		WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	ck, token := startSession(t, h)
	who := map[string]string{"X-Auth-Email": "ann@example.com"}
	for _, tc := range []struct {
		form   url.Values
		status int
	}{
		{url.Values{"op": {"publish"}, "id": {"resend"}}, http.StatusConflict},
		{url.Values{"op": {"stop"}, "id": {"nope"}}, http.StatusNotFound},
		{url.Values{"op": {"archive"}, "id": {"resend"}}, http.StatusBadRequest},
		{url.Values{"op": {"delete"}, "id": {"resend"}}, http.StatusBadRequest},
	} {
		tc.form.Set("csrf", token)
		if rec := post(h, tc.form, ck, who); rec.Code != tc.status {
			t.Fatalf("%v: status %d, want %d", tc.form, rec.Code, tc.status)
		}
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("%d log lines, want one per refused action:\n%s", len(lines), logs.String())
	}
	for i, want := range []string{"status=409", "status=404", "status=400", "status=400"} {
		for _, w := range []string{"level=INFO", "action refused", want, "user=ann@example.com", "reason="} {
			if !strings.Contains(lines[i], w) {
				t.Errorf("log line %d lacks %s: %s", i, w, lines[i])
			}
		}
	}
	if len(f.actions()) != 0 {
		t.Errorf("actions %v carried out", f.actions())
	}
}

// TestAnUnreadableFormIsLogged: a form that cannot be parsed (a bad
// escape, a body over the limit) is refused with 400 and is in the audit
// trail, with who sent it and why.
func TestAnUnreadableFormIsLogged(t *testing.T) {
	var logs strings.Builder
	f := populatedFake()
	h := mustHandler(t, f, WithActions(), WithActor(func(r *http.Request) string { return r.Header.Get("X-Auth-Email") }),
		WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	ck, token := startSession(t, h)
	for _, body := range []string{
		"op=stop&id=resend&csrf=" + token + "&x=%zz",
		"op=stop&id=resend&csrf=" + token + "&pad=" + strings.Repeat("a", maxActionForm),
	} {
		req := httptest.NewRequest(http.MethodPost, "/action", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Auth-Email", "ann@example.com")
		req.AddCookie(ck)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusBadRequest {
			t.Fatalf("status %d, want 400", rec.Code)
		}
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d log lines, want one per unreadable form:\n%s", len(lines), logs.String())
	}
	for i, line := range lines {
		for _, w := range []string{"level=INFO", "action refused", "status=400", "user=ann@example.com", "Unreadable form"} {
			if !strings.Contains(line, w) {
				t.Errorf("log line %d lacks %s: %s", i, w, line)
			}
		}
	}
	if len(f.actions()) != 0 {
		t.Errorf("actions %v carried out", f.actions())
	}
}

// TestActorIsSettledBeforeTheAction: a WithActor that panics refuses the
// action (nothing done, the failure logged); one with no answer leaves
// the basic auth user name; a long answer is clipped in the log.
func TestActorIsSettledBeforeTheAction(t *testing.T) {
	for _, tc := range []struct {
		name   string
		actor  func(*http.Request) string
		status int
		logged string
		acted  bool
	}{
		{"panics", func(*http.Request) string { panic("no identity in the context") }, http.StatusInternalServerError, "WithActor function panicked", false},
		{"no answer", func(*http.Request) string { return "" }, http.StatusSeeOther, "user=admin", true},
		{"long answer", func(*http.Request) string { return strings.Repeat("é", 300) }, http.StatusSeeOther, "user=" + strings.Repeat("é", 50) + "\n", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs strings.Builder
			f := populatedFake()
			h := mustHandler(t, f, WithActions(), WithBasicAuth("admin", "s3cret"), WithActor(tc.actor),
				WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
			ck, token := startSession(t, h, asAdmin)
			rec := post(h, url.Values{"op": {"stop"}, "id": {"resend"}, "csrf": {token}}, ck, asAdmin)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d", rec.Code, tc.status)
			}
			if acted := len(f.actions()) == 1; acted != tc.acted {
				t.Errorf("actions %v", f.actions())
			}
			if !strings.Contains(logs.String(), tc.logged) || strings.Contains(logs.String(), strings.Repeat("é", 51)) {
				t.Errorf("the log lacks %q, or holds the whole answer: %s", tc.logged, logs.String())
			}
		})
	}
}

// failingStop is a source whose Stop fails in the engine.
type failingStop struct{ *fakeSource }

func (failingStop) Stop(context.Context, string) error { return errors.New("store down") }

// TestAFailedActionIsInTheAuditTrail: an action the engine fails to carry
// out is logged with who asked, beside the error under its reference.
func TestAFailedActionIsInTheAuditTrail(t *testing.T) {
	var logs strings.Builder
	h := mustHandler(t, failingStop{populatedFake()}, WithActions(),
		WithActor(func(r *http.Request) string { return "ann@example.com" }),
		WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	ck, token := startSession(t, h)
	if rec := post(h, url.Values{"op": {"stop"}, "id": {"resend"}, "csrf": {token}}, ck, nil); rec.Code != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500", rec.Code)
	}
	for _, want := range []string{`msg="campaignconnector dashboard: action failed" op=stop campaign=resend`, "user=ann@example.com", "error=\"store down\""} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("the log lacks %s: %s", want, logs.String())
		}
	}
}

// asAdmin signs a request in as user admin, password s3cret.
var asAdmin = map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("admin:s3cret"))}
