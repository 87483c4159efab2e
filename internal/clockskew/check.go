package clockskew

import (
	"testing"
	"time"
)

// quarter is a quarter of the default lease: the least a send's lease has
// left while the keeper renews it on time.
const quarter = 15 * time.Second

// CheckLeases checks r, a result of [Leases], against the documentation
// (docs/reliability.md, "Several engines"): a skew of at most a quarter of
// the lease sends each delivery once; a skew of more lets the engine ahead
// claim a delivery whose send is under way: y, whose lease is half a
// second out of step with the keeper, with a skew over 15.5 s, and x,
// whose lease the engine ahead sees as over as soon as it is taken, with
// a skew longer than the lease. Nothing is lost, left pending, or logged
// as an error.
func CheckLeases(t *testing.T, r Result) {
	t.Helper()
	switch {
	case r.Skew <= quarter:
		if len(r.Twice) > 0 || r.Sends != 2 {
			t.Errorf("%v: a skew of at most a quarter of the lease sends each delivery once", r)
		}
	case r.Skew > quarter+500*time.Millisecond && r.Skew < 30*time.Second:
		if len(r.Twice) != 1 || r.Twice[0] != "y/slow" {
			t.Errorf("%v: the engine ahead takes y during its send", r)
		}
	case r.Skew > time.Minute:
		if len(r.Twice) == 0 || r.Twice[0] != "x/slow" {
			t.Errorf("%v: the engine ahead takes x during its send", r)
		}
	}
	checkEnded(t, r)
}

// CheckControls checks r, a result of [Controls] with a skew d shorter
// than the lease, against the documentation: the engine ahead sends
// deliveries up to d early (so in the last d of quiet hours, and up to d
// before a send window opens), lets two emails go d less than the cap's
// window apart, and takes its rate-limit slots in its own minutes, so
// that up to twice the limit go in one minute of the other engine's
// clock. A skew of at most a quarter of the lease sends nothing twice.
// With no skew, nothing breaks a control.
func CheckControls(t *testing.T, r Result) {
	t.Helper()
	d := r.Skew
	if d <= quarter && len(r.Twice) > 0 {
		t.Errorf("%v: sent twice", r)
	}
	if r.MaxEarly > d || d > 0 && r.Early == 0 {
		t.Errorf("%v: the engine ahead sends up to the skew early", r)
	}
	if r.CapBroken > 0 && r.MinCapGap < emailCap.Window-d {
		t.Errorf("%v: two emails less than the cap's window minus the skew apart", r)
	}
	if limit := 1; d == 0 && r.RateMax > limit || r.RateMax > 2*limit {
		t.Errorf("%v: rate limit broken beyond twice the limit", r)
	}
	if r.QuietLeft > d || d > 0 && r.QuietSends == 0 {
		t.Errorf("%v: sends in quiet hours beyond their last skew", r)
	}
	if r.WindowMax > d || d > 0 && r.WindowSends == 0 {
		t.Errorf("%v: sends before the send window beyond the skew", r)
	}
	if d == 0 && (r.Early > 0 || r.CapBroken > 0 || r.QuietSends > 0 || r.WindowSends > 0) {
		t.Errorf("%v: no skew, yet a control broken", r)
	}
	checkEnded(t, r)
}

// checkEnded checks that every delivery ended: sent or dropped with a
// decision, none left pending, no error logged.
func checkEnded(t *testing.T, r Result) {
	t.Helper()
	if len(r.Lost) > 0 || r.Pending > 0 || len(r.Errors) > 0 {
		t.Errorf("%v: lost %v, pending %d, errors %q", r, r.Lost, r.Pending, r.Errors)
	}
}
