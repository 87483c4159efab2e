package browsertest

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestTheHarnessCatchesWhatAPageDoesWrong checks the checker: a page that
// breaks its Content-Security-Policy, loads a missing script, opens a
// dialog and throws is reported for each.
func TestTheHarnessCatchesWhatAPageDoesWrong(t *testing.T) {
	b := newBrowser(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/":
		case "/bad.js":
			w.Header().Set("Content-Type", "text/javascript")
			_, _ = w.Write([]byte(`alert("a dialog"); null.boom;`))
			return
		default:
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Security-Policy", "default-src 'none'; script-src 'self'")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(`<!doctype html><title>bad</title><main>
<script>alert("inline")</script>
<script src="/bad.js"></script>
<script src="/missing.js"></script>
<img src="https://example.invalid/pixel.png" alt="">
</main>`))
	}))
	defer srv.Close()
	b.navigate(srv.URL + "/")
	got := strings.Join(b.takeProblems(), "\n")
	for _, want := range []string{"Content Security Policy", "404", "a dialog", "uncaught exception"} {
		if !strings.Contains(got, want) {
			t.Errorf("the harness missed %q; it reported:\n%s", want, got)
		}
	}
}
