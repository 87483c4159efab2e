package dashboard

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
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
	req := httptest.NewRequest(http.MethodGet, "/campaign?id=resend", nil)
	req.SetBasicAuth("admin", "s3cret")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	ck := rec.Result().Cookies()[0]
	token := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(rec.Body.String())[1]
	req = httptest.NewRequest(http.MethodPost, "/action", strings.NewReader(url.Values{"op": {"stop"}, "id": {"resend"}, "csrf": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("admin", "s3cret")
	req.AddCookie(ck)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("stop: %d", rec.Code)
	}
	if !strings.Contains(logs.String(), "campaign=resend user=admin") {
		t.Errorf("the log does not say who stopped what: %s", logs.String())
	}
}
