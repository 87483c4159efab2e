package dashboard

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/campaignconnector/campaignconnector/rule"
)

// session loads a campaign page with actions on, with the headers given
// (basic auth, say), and returns the session cookie the handler set and
// the token of its forms.
func startSession(t *testing.T, h http.Handler, headers ...map[string]string) (*http.Cookie, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/campaign?id=resend", nil)
	for _, hs := range headers {
		for k, v := range hs {
			req.Header.Set(k, v)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	page := body(t, rec, http.StatusOK)
	var ck *http.Cookie
	for _, c := range rec.Result().Cookies() {
		if c.Name == sessionCookie {
			ck = c
		}
	}
	if ck == nil {
		t.Fatal("no session cookie")
	}
	if !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode {
		t.Errorf("session cookie %v: want HttpOnly and SameSite=Strict", ck)
	}
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no token in the forms")
	}
	return ck, m[1]
}

// post sends an action form.
func post(h http.Handler, form url.Values, ck *http.Cookie, headers map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/action", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if ck != nil {
		req.AddCookie(ck)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestActionsNeedTheSessionsToken(t *testing.T) {
	f := populatedFake()
	h := mustHandler(t, f, WithActions())
	ck, token := startSession(t, h)
	otherCk, otherToken := startSession(t, h)
	stop := func(tok string) url.Values { return url.Values{"op": {"stop"}, "id": {"resend"}, "csrf": {tok}} }
	for _, tc := range []struct {
		name    string
		form    url.Values
		ck      *http.Cookie
		headers map[string]string
		status  int
	}{
		{"no cookie", stop(token), nil, nil, http.StatusForbidden},
		{"no token", url.Values{"op": {"stop"}, "id": {"resend"}}, ck, nil, http.StatusForbidden},
		{"a token of another session", stop(otherToken), ck, nil, http.StatusForbidden},
		{"the cookie of another session", stop(token), otherCk, nil, http.StatusForbidden},
		{"a forged cookie", stop(token), &http.Cookie{Name: sessionCookie, Value: "forged"}, nil, http.StatusForbidden},
		{"a token that is not base64", stop("!!"), ck, nil, http.StatusForbidden},
		{"a cross-site request", stop(token), ck, map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
		{"another origin", stop(token), ck, map[string]string{"Origin": "https://evil.example"}, http.StatusForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if rec := post(h, tc.form, tc.ck, tc.headers); rec.Code != tc.status {
				t.Errorf("status %d, want %d", rec.Code, tc.status)
			}
			if len(f.actions()) != 0 {
				t.Fatalf("the refused request acted: %v", f.actions())
			}
		})
	}
	rec := post(h, stop(token), ck, map[string]string{"Sec-Fetch-Site": "same-origin"})
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "campaign?done=stop&id=resend" {
		t.Fatalf("a valid stop: %d Location %q", rec.Code, rec.Header().Get("Location"))
	}
	if !slices.Equal(f.actions(), []string{"stop resend"}) || f.campaigns["resend"].State != rule.Stopped {
		t.Fatalf("actions %v, state %s", f.actions(), f.campaigns["resend"].State)
	}
	if page := body(t, get(t, h, "/campaign?done=stop&id=resend"), http.StatusOK); !strings.Contains(page, outcomes["stop"].done) {
		t.Error("the page after the action does not confirm it")
	}
}

// TestTheSessionCookieIsSecureOverTLS checks that the session cookie is
// Secure when the request came over TLS, to the server or to a proxy in
// front that says so, and not over plain HTTP.
func TestTheSessionCookieIsSecureOverTLS(t *testing.T) {
	h := mustHandler(t, populatedFake(), WithActions())
	for _, tc := range []struct {
		header, value string
		secure        bool
	}{
		{"", "", false},
		{"X-Forwarded-Proto", "https", true},
		{"X-Forwarded-Proto", "http", false},
		{"Forwarded", `for=192.0.2.60;proto=https;by=203.0.113.43`, true},
		{"Forwarded", `for=192.0.2.43, for=198.51.100.17;proto="HTTPS"`, true},
		{"Forwarded", `for=192.0.2.60;proto=http`, false},
	} {
		req := httptest.NewRequest(http.MethodGet, "/campaign?id=resend", nil)
		if tc.header != "" {
			req.Header.Set(tc.header, tc.value)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		cks := rec.Result().Cookies()
		if len(cks) != 1 || cks[0].Secure != tc.secure {
			t.Errorf("%s: %q: cookies %v, want one, Secure %t", tc.header, tc.value, cks, tc.secure)
		}
	}
}

// TestARefusedActionIsLogged checks that the audit trail has the actions
// refused, with what they asked for.
func TestARefusedActionIsLogged(t *testing.T) {
	var logged bytes.Buffer
	h := mustHandler(t, populatedFake(), WithActions(), WithLogger(slog.New(slog.NewTextHandler(&logged, nil))))
	ck, _ := startSession(t, h)
	form := url.Values{"op": {"archive"}, "id": {"resend\n" + strings.Repeat("x", 500)}, "csrf": {"forged"}}
	if rec := post(h, form, ck, nil); rec.Code != http.StatusForbidden {
		t.Fatalf("status %d, want 403", rec.Code)
	}
	line := logged.String()
	for _, want := range []string{"level=WARN", "action refused", "op=archive", `campaign="resend\nxxx`} {
		if !strings.Contains(line, want) {
			t.Errorf("the log lacks %s: %s", want, line)
		}
	}
	if strings.Count(line, "\n") > 1 || strings.Contains(line, strings.Repeat("x", 101)) {
		t.Errorf("the refused form's fields are not quoted and clipped: %s", line)
	}
}

// TestACrossOriginPostIsRefusedForItsOriginWhateverItsBody: a cross-origin
// POST whose body cannot be read (a bad escape, a body over the limit) is
// refused with 403 and logged at Warn as a cross-origin request, like any
// other, not taken for a form a user got wrong.
func TestACrossOriginPostIsRefusedForItsOriginWhateverItsBody(t *testing.T) {
	var logged bytes.Buffer
	f := populatedFake()
	h := mustHandler(t, f, WithActions(), WithLogger(slog.New(slog.NewTextHandler(&logged, nil))))
	ck, token := startSession(t, h)
	for _, body := range []string{
		"op=stop&id=resend&csrf=" + token + "&x=%zz",
		"op=stop&id=resend&csrf=" + token + "&pad=" + strings.Repeat("a", maxActionForm),
	} {
		logged.Reset()
		req := httptest.NewRequest(http.MethodPost, "/action", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		req.AddCookie(ck)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusForbidden {
			t.Errorf("status %d, want 403", rec.Code)
		}
		line := logged.String()
		for _, want := range []string{"level=WARN", "action refused", "cross-origin"} {
			if !strings.Contains(line, want) {
				t.Errorf("the log lacks %s: %s", want, line)
			}
		}
	}
	if len(f.actions()) != 0 {
		t.Fatalf("a refused request acted: %v", f.actions())
	}
}

// TestThePageConfirmsOnlyWhatTheStateBearsOut: the campaign page says an
// action was done only while the campaign is in the state the action
// leads to, not for an address written by hand nor once someone else has
// changed the campaign since.
func TestThePageConfirmsOnlyWhatTheStateBearsOut(t *testing.T) {
	f := populatedFake() // resend is active
	h := mustHandler(t, f, WithActions())
	confirms := func(op string) bool {
		t.Helper()
		return strings.Contains(body(t, get(t, h, "/campaign?id=resend&done="+op), http.StatusOK), `class="flash"`)
	}
	if confirms("archive") || confirms("stop") || confirms("nonsense") {
		t.Error("an active campaign's page confirms an archive or a stop that did not happen")
	}
	if !confirms("publish") {
		t.Error("an active campaign's page does not confirm its publication")
	}
	noError(t)(f.Stop(context.Background(), "resend"))
	if confirms("publish") || !confirms("stop") {
		t.Error("a stopped campaign's page confirms a publication, or not its stop")
	}
}

func TestActionsFollowTheLifecycle(t *testing.T) {
	f := populatedFake()
	h := mustHandler(t, f, WithActions(), WithCSRFKey([]byte(strings.Repeat("k", 32))))
	ck, token := startSession(t, h)
	act := func(op, id string, extra ...string) *httptest.ResponseRecorder {
		form := url.Values{"op": {op}, "id": {id}, "csrf": {token}}
		for i := 0; i+1 < len(extra); i += 2 {
			form.Set(extra[i], extra[i+1])
		}
		return post(h, form, ck, nil)
	}
	for _, tc := range []struct {
		name   string
		rec    *httptest.ResponseRecorder
		status int
	}{
		{"publishing an active campaign is a conflict", act("publish", "resend"), http.StatusConflict},
		{"an unknown campaign is not found", act("stop", "nope"), http.StatusNotFound},
		{"an unknown action is refused", act("delete", "resend"), http.StatusBadRequest},
		{"no campaign is refused", act("stop", ""), http.StatusBadRequest},
		{"archiving needs its confirmation", act("archive", "resend"), http.StatusBadRequest},
		{"a draft is published", act("publish", "cart_reminder"), http.StatusSeeOther},
		{"a confirmed archive is done", act("archive", "resend", "confirm", "archive"), http.StatusSeeOther},
		{"an archived campaign stays archived", act("publish", "resend"), http.StatusConflict},
	} {
		if tc.rec.Code != tc.status {
			t.Errorf("%s: status %d, want %d", tc.name, tc.rec.Code, tc.status)
		}
	}
	if want := []string{"publish cart_reminder", "archive resend"}; !slices.Equal(f.actions(), want) {
		t.Errorf("actions %v, want %v", f.actions(), want)
	}
	page := body(t, get(t, h, "/campaign?id=resend"), http.StatusOK)
	if strings.Contains(page, `action="action"`) {
		t.Error("an archived campaign still offers actions")
	}
}

func TestReadOnlyDashboardOffersAndTakesNoAction(t *testing.T) {
	f := populatedFake()
	h := mustHandler(t, f)
	for _, p := range pagePaths {
		rec := get(t, h, p)
		if page := body(t, rec, http.StatusOK); strings.Contains(page, `method="post"`) {
			t.Errorf("%s offers a POST form", p)
		}
		if len(rec.Result().Cookies()) != 0 {
			t.Errorf("%s sets a cookie", p)
		}
	}
	if rec := post(h, url.Values{"op": {"stop"}, "id": {"resend"}}, nil, nil); rec.Code != http.StatusForbidden {
		t.Errorf("POST to a read-only dashboard: %d, want 403", rec.Code)
	}
	if len(f.actions()) != 0 {
		t.Errorf("a read-only dashboard acted: %v", f.actions())
	}
}

func TestAGetNeverActs(t *testing.T) {
	f := populatedFake()
	h := mustHandler(t, f, WithActions())
	_, token := startSession(t, h)
	for _, target := range []string{
		"/action?op=stop&id=resend&csrf=" + url.QueryEscape(token),
		"/campaign?id=resend&op=stop&csrf=" + url.QueryEscape(token),
	} {
		rec := get(t, h, target)
		if rec.Code == http.StatusSeeOther {
			t.Errorf("GET %s redirected as an action does", target)
		}
	}
	if rec := get(t, h, "/action"); rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET /action: %d, want 405", rec.Code)
	}
	if len(f.actions()) != 0 {
		t.Errorf("a GET acted: %v", f.actions())
	}
}

func TestTokensOfOneKeyAreAcceptedByEveryReplica(t *testing.T) {
	key := []byte(strings.Repeat("r", 32))
	f := populatedFake()
	a := mustHandler(t, f, WithActions(), WithCSRFKey(key))
	b := mustHandler(t, f, WithActions(), WithCSRFKey(key))
	c := mustHandler(t, f, WithActions()) // a random key of its own
	ck, token := startSession(t, a)
	form := url.Values{"op": {"stop"}, "id": {"resend"}, "csrf": {token}}
	if rec := post(c, form, ck, nil); rec.Code != http.StatusForbidden {
		t.Errorf("a replica with another key accepted the token: %d", rec.Code)
	}
	if rec := post(b, form, ck, nil); rec.Code != http.StatusSeeOther {
		t.Errorf("a replica with the same key refused the token: %d", rec.Code)
	}
}
