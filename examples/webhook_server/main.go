// Command webhook_server receives SendGrid Event Webhook calls and runs
// the "resend to non-openers" flow on them: a week after the
// newsletter is delivered, resend it to users who did not open it. It
// prints what the engine decides (a resend scheduled, cancelled by an
// open, a duplicate ignored) and what it sends, instead of sending it.
//
//	go run ./examples/webhook_server -addr localhost:8080 -sendgrid-key MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE…
//
// Without -sendgrid-key it makes up a key pair and prints a signed curl
// command to try it with: it reports the newsletter delivered to ann, and
// the server prints her resend scheduled a week ahead (sent again, a
// duplicate ignored). With -db it keeps campaigns, users and pending
// resends in a SQLite file, so that a restart loses nothing:
//
//	go run ./examples/webhook_server -db campaigns.db
//
// It runs on the wall clock, so a resend falls due a week after its
// delivery. To see one sent, shorten the delay with -delay: started with
// -delay 1m, it prints "send resend to ann: …" a minute after the
// delivery. On a -db file, a restart with another -delay applies to the
// resends scheduled next; those already scheduled keep their due time.
//
// The demo key is made up at every start and its private half never
// shown, so it signs that one command, which a restart answers with a 401
// (signature check failed). To sign posts of your own (an open, a retry,
// a batch), make a key pair and start the server with its public key:
//
//	openssl ecparam -name prime256v1 -genkey -noout -out sendgrid.pem
//	go run ./examples/webhook_server -sendgrid-key "$(openssl ec -in sendgrid.pem -pubout -outform DER | base64 -w0)"
//
// then sign each post as SendGrid does: an ECDSA signature over the
// SHA-256 of the timestamp header's value followed by the body, in
// base64 (on macOS, base64 without -w0):
//
//	ts=$(date +%s)
//	body='[{"event":"open","sg_event_id":"open-1","timestamp":'$ts',"campaign_id":"newsletter","user_id":"ann"}]'
//	sig=$(printf '%s%s' "$ts" "$body" | openssl dgst -sha256 -sign sendgrid.pem | base64 -w0)
//	curl -si localhost:8080/webhooks/sendgrid -H "X-Twilio-Email-Event-Webhook-Signature: $sig" \
//		-H "X-Twilio-Email-Event-Webhook-Timestamp: $ts" --data-binary "$body"
//
// A "delivered" event schedules the user's resend and an "open" cancels
// it; sending the same sg_event_id again, before or after a restart on
// the same -db file, prints a duplicate. An event stamped before the
// resend was first published (the first start on the file) counts for
// nothing (before_activation). The answers and their status codes are
// those of docs/webhooks.md.
//
// It stops on Ctrl-C or SIGTERM, printing each step. Under go run, send
// SIGTERM to the server's own process, not to go run's: go run exits on
// it and leaves the server running.
//
// It is a module of its own, so that the root module needs no SQLite
// driver.
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/campaignconnector/campaignconnector/store/sqlite"
	"github.com/campaignconnector/campaignconnector/webhook"
	"github.com/campaignconnector/campaignconnector/webhook/sendgrid"
)

func main() {
	addr := flag.String("addr", "localhost:8080", "address to listen on")
	key := flag.String("sendgrid-key", "", "SendGrid Event Webhook verification key (base64 DER); empty: make up a demo key")
	db := flag.String("db", "", "SQLite database file, created if missing, that keeps pending resends across restarts; empty: in memory")
	delay := flag.Duration("delay", 7*24*time.Hour, "how long after the delivery the resend falls due; 1m shows it sent")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "Usage: %s [flags]\n\n"+
			"Receives SendGrid Event Webhook posts at /webhooks/sendgrid and prints the resends they\n"+
			"schedule, cancel and send. Without -sendgrid-key it prints a signed curl command to try;\n"+
			"go doc ./examples/webhook_server says how to sign posts of your own.\n\n", os.Args[0])
		flag.PrintDefaults()
	}
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := serve(ctx, *addr, *key, *db, *delay, os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// serve runs the server on the wall clock until ctx ends, on the SQLite
// file db, or in memory when db is empty, with the resend due delay after
// the delivery.
func serve(ctx context.Context, addr, key, db string, delay time.Duration, out io.Writer) (err error) {
	if delay <= 0 {
		// The engine would refuse it in its own words, about exceptions.
		return fmt.Errorf("-delay %v: the resend waits after the delivery (an open cancels it meanwhile), so it must be positive", delay)
	}
	var demo *ecdsa.PrivateKey
	if key == "" {
		if demo, key, err = demoKey(); err != nil {
			return err
		}
	}
	// Deferred first, so that it runs last: "stopped" comes once the
	// store is closed, after a run that went as far as listening.
	listening := false
	defer func() {
		if listening && err == nil {
			fmt.Fprintln(out, "stopped")
		}
	}()
	var st store.Store = store.NewMemory()
	if db != "" {
		s, openErr := sqlite.Open(ctx, db)
		if openErr != nil {
			return openErr
		}
		defer func() { err = errors.Join(err, s.Close()) }() // serve's err: a failed Close is its error
		st = s
	}
	engine, handler, err := newServer(ctx, clock.New(), st, key, delay, out)
	if err != nil {
		return err
	}
	if db != "" {
		// A restart shows that the resends scheduled before it are there.
		pending, err := engine.PendingCount(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "keeping state in %s: %d resends pending\n", db, pending)
	}
	// ReadTimeout bounds the body too: the handler reads all of it before
	// checking the signature, so a client trickling bytes would otherwise
	// hold a connection and its buffer for as long as it likes.
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second}
	// Listening first makes a busy port an error here, before anything
	// runs in the background.
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	if demo != nil {
		// After newServer: the sample delivery must come after the
		// resend's publication, or it would not trigger it. After Listen:
		// the command names the port listened on (-addr :0 picks one).
		if err := printDemoRequest(dialAddr(ln.Addr()), demo, time.Now(), out); err != nil {
			return errors.Join(err, ln.Close())
		}
	}
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	served := make(chan struct{})
	go func() {
		defer close(served)
		<-ctx.Done()
		fmt.Fprintln(out, "stopping: answering the requests in progress (for up to 5s) and recording the sends in progress")
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if srv.Shutdown(shutdown) != nil { // waits for the requests in progress
			fmt.Fprintln(out, "stopping: requests still in progress after 5s are cut off; SendGrid sends them again")
		}
	}()
	ran := make(chan struct{})
	go func() { // sends deliveries as they fall due
		defer close(ran)
		_ = engine.Run(ctx)
	}()
	listening = true
	fmt.Fprintf(out, "listening on http://%s/webhooks/sendgrid\n", ln.Addr())
	err = srv.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	stop() // when Serve failed on its own
	<-served
	<-ran
	// The last requests tracked events after Run's last flush: their
	// decision counts go to the store before it closes. (A request still
	// running when Shutdown gave up meets the closed store and answers
	// 500, which SendGrid retries.)
	flush, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return errors.Join(err, engine.FlushTallies(flush))
}

// newServer is the wiring: an engine on st and clk with the newsletter and
// its resend (due delay after the delivery) published, a sender that
// prints to out, and the SendGrid webhook handler feeding the engine,
// mounted at /webhooks/sendgrid.
func newServer(ctx context.Context, clk connector.Clock, st store.Store, sendgridKey string, delay time.Duration, out io.Writer) (*connector.Engine, http.Handler, error) {
	var mu sync.Mutex // Run's sends and the handler's logs share out
	printf := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(out, format, args...)
	}
	sender := connector.SenderFunc(func(_ context.Context, d connector.Delivery) error {
		printf("send %s to %s: %s\n", d.CampaignID, d.UserID, d.Message)
		return nil
	})
	// The observer prints what the engine decides about each event, so that
	// a delivered newsletter shows its resend scheduled a week ahead.
	observer := connector.ObserverFunc(func(d rule.Decision) {
		switch d.Kind {
		case rule.Scheduled:
			printf("%s scheduled for %s, due %s\n", d.CampaignID, d.UserID, d.DueAt.Format(time.RFC3339))
		case rule.Cancelled, rule.Duplicate, rule.Suppressed, rule.Failed:
			// The reason, then the rule that matched and what the reason
			// alone does not say (since when, the send's error), as
			// Decision.String has them.
			var more []string
			if d.Rule != "" {
				more = append(more, d.Rule)
			}
			if d.Detail != "" {
				more = append(more, d.Detail)
			}
			why := string(d.Reason)
			if len(more) > 0 {
				why += " (" + strings.Join(more, ": ") + ")"
			}
			printf("%s %s for %s: %s\n", d.CampaignID, d.Kind, d.UserID, why)
		}
	})
	engine, err := connector.New(st, sender, connector.WithClock(clk), connector.WithObserver(observer))
	if err != nil {
		return nil, nil, err
	}
	// Apply saves and publishes the campaigns the first time; a restart on
	// a file finds them as they are and changes nothing (with another
	// -delay, it saves the edit, for the deliveries it schedules next).
	err = engine.Apply(ctx, []rule.Campaign{
		{ID: "newsletter"}, // the original: the host sends it through SendGrid
		{
			ID:         "resend",
			Triggers:   []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "newsletter"}},
			Delay:      rule.After(delay),
			Exceptions: []rule.Exception{{Kind: event.EmailOpened, CampaignID: "newsletter"}},
			Message:    []byte(`{"subject":"In case you missed it"}`),
		},
	})
	if err != nil {
		return nil, nil, err
	}
	parser, err := sendgrid.New(sendgridKey)
	if err != nil {
		return nil, nil, err
	}
	handler, err := webhook.NewHandler(parser, engine, webhook.WithErrorFunc(func(r *http.Request, err error) {
		printf("webhook %s: %v\n", r.URL.Path, err)
	}))
	if err != nil {
		return nil, nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/webhooks/sendgrid", handler)
	return engine, mux, nil
}

// demoKey makes up a key pair and returns it with its public key in the
// form -sendgrid-key takes.
func demoKey() (*ecdsa.PrivateKey, string, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, "", err
	}
	der, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		return nil, "", err
	}
	return priv, base64.StdEncoding.EncodeToString(der), nil
}

// dialAddr returns the address a client on this machine reaches the
// listener at: localhost for a listener on every interface (-addr :8080),
// whose address curl cannot use ("http://:8080" or "http://[::]:8080").
func dialAddr(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

// printDemoRequest prints a curl command for the server at addr that
// reports the newsletter delivered to ann, signed with priv. SendGrid
// stamps events to the whole second, so the delivery is stamped at the
// second after now: stamped at now's second, it would come before the
// resend's publication a moment ago, and count for nothing
// (before_activation). Its event ID is new at every start, so that a
// restart on a -db file does not take it for the previous run's.
func printDemoRequest(addr string, priv *ecdsa.PrivateKey, now time.Time, out io.Writer) error {
	ts := strconv.FormatInt(now.Truncate(time.Second).Add(time.Second).Unix(), 10)
	body := `[{"event":"delivered","email":"ann@example.com","sg_event_id":"demo-` + rand.Text()[:8] + `","timestamp":` + ts +
		`,"campaign_id":"newsletter","user_id":"ann"}]`
	sum := sha256.Sum256([]byte(ts + body))
	sig, err := ecdsa.SignASN1(rand.Reader, priv, sum[:])
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "no -sendgrid-key: using a demo key; try\n  curl -si http://%s/webhooks/sendgrid -H '%s: %s' -H '%s: %s' -d '%s'\n",
		addr, sendgrid.SignatureHeader, base64.StdEncoding.EncodeToString(sig), sendgrid.TimestampHeader, ts, body)
	return nil
}
