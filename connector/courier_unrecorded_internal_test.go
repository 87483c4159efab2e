package connector

import (
	"bytes"
	"log/slog"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/campaignconnector/campaignconnector/store"
)

// TestUnrecordedKeepsTheLatestOutcomes checks that the outcomes kept are
// bounded, the oldest dropped first, and that keeping one of a delivery
// already kept replaces it rather than drop another.
func TestUnrecordedKeepsTheLatestOutcomes(t *testing.T) {
	var u unrecorded
	keep := func(user string, attempt int) *outcome {
		j := &job{}
		j.c.UserID, j.d.ID, j.d.Attempt = user, "d", attempt
		return u.keep(j)
	}
	for i := range unrecordedMax {
		if d := keep("u"+strconv.Itoa(i), 1); d != nil {
			t.Fatalf("keeping outcome %d dropped %+v", i, d)
		}
	}
	if d := keep("u0", 2); d != nil { // the oldest, kept again: now the latest
		t.Fatalf("keeping an outcome again dropped %+v", d)
	}
	if d := keep("new", 1); d == nil || d.userID != "u1" {
		t.Fatalf("keeping one more dropped %+v, want u1's, the oldest", d)
	}
	if len(u.m) != unrecordedMax || int(u.n.Load()) != unrecordedMax {
		t.Fatalf("%d outcomes kept (counted %d), want %d", len(u.m), u.n.Load(), unrecordedMax)
	}
	if o := u.m[unrecordedKey{"u0", "d"}]; o == nil || o.d.Attempt != 2 {
		t.Fatalf("the outcome kept again is %+v, want attempt 2", o)
	}
	if _, ok := u.m[unrecordedKey{"u1", "d"}]; ok {
		t.Fatal("the oldest outcome was not dropped")
	}
	if _, ok := u.m[unrecordedKey{"new", "d"}]; !ok {
		t.Fatal("the latest outcome was not kept")
	}
	j := &job{}
	j.sendErr = errNotSent
	j.c.UserID, j.d.ID = "unsent", "d"
	u.keep(j)
	if _, ok := u.m[unrecordedKey{"unsent", "d"}]; ok {
		t.Fatal("a delivery that was never sent was kept")
	}
}

// TestForgettingAnOutcomeIsLogged checks that an outcome dropped for want
// of room is logged at Error, naming its delivery and user.
func TestForgettingAnOutcomeIsLogged(t *testing.T) {
	e, buf := loggedEngine(t)
	e.forget(nil, &outcome{userID: "ann", d: Delivery{ID: "d1", Attempt: 2}})
	out := buf.String()
	for _, want := range []string{"level=ERROR", "forgetting a send's outcome", "d1", `\"ann\"`, "attempt 2", "sent again"} {
		if !strings.Contains(out, want) {
			t.Errorf("the log %q does not say %q", out, want)
		}
	}
	if n := strings.Count(out, "\n"); n != 1 {
		t.Errorf("%d lines logged, want 1: %q", n, out)
	}
}

// TestUnrecordedOutcomesOnTheirWayStayKept checks that the outcomes a
// Tick records stay kept meanwhile, are taken by one Tick at a time, go
// once stored and stay once their record failed, and that a later outcome
// of the same delivery kept meanwhile outlives the record of the earlier.
func TestUnrecordedOutcomesOnTheirWayStayKept(t *testing.T) {
	var u unrecorded
	keep := func(user string, attempt int) {
		j := &job{}
		j.c.UserID, j.d.ID, j.d.Attempt = user, "d", attempt
		u.keep(j)
	}
	keep("a", 1)
	keep("b", 1)
	outs := u.takeAll()
	if len(outs) != 2 || u.n.Load() != 2 {
		t.Fatalf("took %d outcomes, %d kept; want 2 and 2", len(outs), u.n.Load())
	}
	if again := u.takeAll(); len(again) != 0 {
		t.Fatalf("a second Tick took %d outcomes on their way", len(again))
	}
	keep("b", 2) // a later send of b's delivery, kept meanwhile
	u.done(outs[0], true)
	u.done(outs[1], true)
	if _, ok := u.m[unrecordedKey{"a", "d"}]; ok {
		t.Fatal("an outcome stored is still kept")
	}
	if o := u.m[unrecordedKey{"b", "d"}]; o == nil || o.d.Attempt != 2 || o.recording {
		t.Fatalf("the later outcome is %+v, want attempt 2 to record", o)
	}
	outs = u.takeAll()
	u.done(outs[0], false)
	if again := u.takeAll(); len(again) != 1 {
		t.Fatalf("an outcome whose record failed was taken %d times, want once", len(again))
	}
}

// TestUnrecordedDropsAnOutcomeNoTickIsStoring checks that a full set
// drops its oldest outcome that no Tick is storing, rather than one a
// Tick's record may still save.
func TestUnrecordedDropsAnOutcomeNoTickIsStoring(t *testing.T) {
	var u unrecorded
	keep := func(user string) *outcome {
		j := &job{}
		j.c.UserID, j.d.ID, j.d.Attempt = user, "d", 1
		return u.keep(j)
	}
	keep("first")
	u.takeAll() // a Tick stores "first"
	for i := 1; i < unrecordedMax; i++ {
		keep("u" + strconv.Itoa(i))
	}
	if d := keep("new"); d == nil || d.userID != "u1" {
		t.Fatalf("dropped %+v, want u1's, the oldest no Tick is storing", d)
	}
	if _, ok := u.m[unrecordedKey{"first", "d"}]; !ok {
		t.Fatal("the outcome a Tick is storing was dropped")
	}
}

// TestReturningRunNamesTheOldestKeptOutcomes checks that reportKept names
// the oldest kept deliveries, oldest first, and counts the others.
func TestReturningRunNamesTheOldestKeptOutcomes(t *testing.T) {
	e, buf := loggedEngine(t)
	e.reportKept()
	if buf.Len() != 0 {
		t.Fatalf("nothing kept, yet logged %s", buf.String())
	}
	for i := range keptOnReturn + 2 {
		j := &job{}
		j.c.UserID, j.d.ID = "u"+strconv.Itoa(i), "d"+strconv.Itoa(i)
		e.unrecorded.keep(j)
	}
	e.reportKept()
	got := buf.String()
	for _, want := range []string{"level=ERROR", "the record of 7 sends", `(delivery d0 of user \"u0\", delivery d1`, `delivery d4 of user \"u4\" and 2 more)`} {
		if !strings.Contains(got, want) {
			t.Errorf("the log %s does not say %s", got, want)
		}
	}
	if strings.Contains(got, "d5") {
		t.Errorf("the log %s names more than the %d oldest", got, keptOnReturn)
	}
}

// TestReturningRunSaysNothingOfOutcomesStoredMeanwhile: the outcomes kept
// as Run returns are stored meanwhile (a Tick of the host's, beside Run):
// once reportKept finds none left, it logs nothing, rather than a line
// about the record of 0 sends.
func TestReturningRunSaysNothingOfOutcomesStoredMeanwhile(t *testing.T) {
	e, buf := loggedEngine(t)
	j := &job{}
	j.c.UserID, j.d.ID = "u", "d"
	e.unrecorded.keep(j)
	u := &e.unrecorded
	u.mu.Lock()
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.reportKept()
	}()
	// Once it reads the outcomes, it has seen that some are kept.
	stack := make([]byte, 1<<20)
	for !strings.Contains(string(stack[:runtime.Stack(stack, true)]), "(*unrecorded).oldest") {
		runtime.Gosched()
	}
	clear(u.m) // what done does once the host's Tick stored them
	u.n.Store(0)
	u.mu.Unlock()
	<-done
	if buf.Len() != 0 {
		t.Fatalf("nothing kept, yet logged %s", buf.String())
	}
}

// loggedEngine returns an engine on the memory store whose log lines go
// to the buffer returned.
func loggedEngine(t *testing.T) (*Engine, *bytes.Buffer) {
	t.Helper()
	var buf bytes.Buffer
	e, err := New(store.NewMemory(), SenderFunc(nil), WithLogger(slog.New(slog.NewTextHandler(&buf, nil))))
	if err != nil {
		t.Fatal(err)
	}
	return e, &buf
}
