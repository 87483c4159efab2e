package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/rule"
)

// TestServesAPopulatedDashboard runs the command on a small workload, on
// a free port, and reads its pages over HTTP.
func TestServesAPopulatedDashboard(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r, w := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, settings{addr: "127.0.0.1:0", users: 400, history: 4 * 24 * time.Hour, speed: 0, seed: 1}, w)
		w.Close()
	}()
	lines := bufio.NewScanner(r)
	var url string
	for url == "" && lines.Scan() {
		if m := regexp.MustCompile(`^dashboard: (http://\S+/)$`).FindStringSubmatch(lines.Text()); m != nil {
			url = m[1]
		}
	}
	if url == "" {
		t.Fatalf("the command printed no address: %v", <-done)
	}
	go func() { _, _ = io.Copy(io.Discard, r) }()

	for path, wants := range map[string][]string{
		"":                          {"resend", "cart_reminder", "coupon_15", "holdout_survey", "state-active"},
		"campaign?id=cart_reminder": {"20 % of the triggered users are held out", `action="action"`},
		"health":                    {`data-warning="draft_follow_up"`, "spring_survey"},
		"user?id=user-00001":        {"data-decision="},
	} {
		res, err := http.Get(url + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Errorf("GET /%s: %d", path, res.StatusCode)
		}
		for _, want := range wants {
			if !strings.Contains(string(b), want) {
				t.Errorf("GET /%s: the page lacks %q", path, want)
			}
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run returned %v after its context ended", err)
	}
}

// TestTheWorkloadExercisesEveryFlow checks that a few days of the
// workload give every follow-up something to show: sends, cancellations
// by exceptions, hold-outs, conversions, retries and failures.
func TestTheWorkloadExercisesEveryFlow(t *testing.T) {
	ctx := context.Background()
	s := settings{users: 1000, seed: 1}
	sim, err := newSimulation(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.advance(ctx, 5*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for i := range s.users {
		for _, c := range append(append([]rule.Campaign{}, followUps...), draftFollowUp) {
			x, err := sim.engine.Explain(ctx, userID(i), c.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range x.Decisions {
				key := c.ID + " " + string(d.Kind)
				if d.Reason == rule.ReasonException {
					key += " by an exception"
				}
				if d.Kind == rule.Suppressed && d.DeliveryID != "" {
					key = "a push suppressed when due"
				}
				seen[key]++
			}
		}
	}
	for _, want := range []string{
		"resend delivered", "resend cancelled by an exception", "resend retried", "resend failed",
		"cart_reminder delivered", "cart_reminder cancelled by an exception", "cart_reminder held_out", "cart_reminder converted",
		"coupon_15 delivered", "coupon_15 converted",
		"holdout_survey delivered", "a push suppressed when due",
	} {
		if seen[want] == 0 {
			t.Errorf("no %s in five days (saw %v)", want, seen)
		}
	}
	if seen["spring_survey scheduled"] != 0 {
		t.Error("the draft spring_survey scheduled deliveries")
	}
}

func TestRefusesATinyWorkload(t *testing.T) {
	if err := run(context.Background(), settings{addr: "127.0.0.1:0", users: 10}, io.Discard); err == nil {
		t.Error("run accepted 10 users")
	}
}
