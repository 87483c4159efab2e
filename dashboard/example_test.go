package dashboard_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/dashboard"
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
