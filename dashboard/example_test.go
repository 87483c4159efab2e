package dashboard_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"time"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/dashboard"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// Mount the dashboard in the host's own server, under a path of its choice.
func ExampleNew() {
	send := connector.SenderFunc(func(context.Context, connector.Delivery) error { return nil })
	engine, err := connector.New(store.NewMemory(), send, connector.WithDecisionLog(100, 30*24*time.Hour))
	if err != nil {
		log.Fatal(err)
	}

	h, err := dashboard.New(engine, dashboard.WithPrefix("/ops/campaigns"))
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/ops/campaigns/", h)
	// http.ListenAndServe(":8080", mux), then open /ops/campaigns/.

	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/ops/campaigns/health", nil))
	fmt.Println(rec.Code, rec.Header().Get("Content-Type"))
	// Output: 200 text/html; charset=utf-8
}

// Let the people who sign in publish, stop and archive campaigns. Every
// action is a POST form with a CSRF token; give each replica the same key.
func ExampleWithActions() {
	send := connector.SenderFunc(func(context.Context, connector.Delivery) error { return nil })
	engine, err := connector.New(store.NewMemory(), send)
	if err != nil {
		log.Fatal(err)
	}
	h, err := dashboard.New(engine,
		dashboard.WithBasicAuth("ops", "a long password from the host's secrets"),
		dashboard.WithActions(),
		dashboard.WithCSRFKey([]byte("32 bytes or more, the same on every replica")),
	)
	if err != nil {
		log.Fatal(err)
	}

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil)) // no credentials
	fmt.Println(rec.Code)
	// Output: 401
}

// Behind the host's own sign-in (here, a proxy that authenticates and
// passes the address on), name who made each action in the audit log.
func ExampleWithActor() {
	send := connector.SenderFunc(func(context.Context, connector.Delivery) error { return nil })
	engine, err := connector.New(store.NewMemory(), send)
	if err != nil {
		log.Fatal(err)
	}
	if err := engine.Apply(context.Background(), []rule.Campaign{{ID: "newsletter"}}); err != nil {
		log.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{} // a stable output for the example
			}
			return a
		},
	}))
	h, err := dashboard.New(engine,
		dashboard.WithActions(),
		dashboard.WithActor(func(r *http.Request) string { return r.Header.Get("X-Forwarded-Email") }),
		dashboard.WithLogger(logger),
	)
	if err != nil {
		log.Fatal(err)
	}

	// A form posted without the page's token is refused, and logged with
	// who sent it.
	req := httptest.NewRequest(http.MethodPost, "/action", strings.NewReader("op=stop&id=newsletter"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-Email", "ann@example.com")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	fmt.Println(rec.Code)
	// Output:
	// level=WARN msg="campaignconnector dashboard: action refused" error="dashboard: no session cookie: load the page again and repeat the action" op=stop campaign=newsletter remote=192.0.2.1:1234 user=ann@example.com
	// 403
}
