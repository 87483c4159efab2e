package dashboard

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/campaignconnector/campaignconnector/connector"
)

// clockSkewer is the optional part of a source that compares the engine's
// clock with the store's server clock: *connector.Engine has it
// (Engine.ClockSkew), and so does engineSource, which embeds it. A source
// without it shows no clock, as a store without a server clock does.
type clockSkewer interface {
	// ClockSkew returns how far the engine's clock is ahead of the store's
	// server clock (negative when behind), or an error wrapping
	// connector.ErrNoServerClock when the store has no clock of its own.
	ClockSkew(ctx context.Context) (time.Duration, error)
}

// clockSkewFlag is the skew, either way, from which the health page flags
// the engine's clock, or from a twelfth of the engine's lease when that
// is less. Replicas whose clocks are a quarter of the lease apart (15 s
// with the default lease of a minute) can send a delivery twice; each
// replica shows only its own skew, while two replicas off in opposite
// directions are apart by the sum of theirs: a twelfth of the lease
// flags them well before that bound.
const clockSkewFlag = 5 * time.Second

// leaser is the optional part of a source that gives the engine's lease:
// *connector.Engine has it (Engine.Lease), and so does engineSource.
type leaser interface {
	Lease() time.Duration
}

// clockRow is the health page's comparison of the engine's clock with the
// store's server clock.
type clockRow struct {
	Seconds string // the skew in seconds, for the page's data attribute
	Words   string // "0.3 s ahead of", "12 ms behind", …
	Flag    bool   // the skew is clockSkewFlag or more, either way
	Failed  string // what the page says in place of a reading that failed
	// FlagAt is the skew flagged from, in words, for the page's text;
	// Quarter is a quarter of the engine's lease and Lease the lease, ""
	// when the source does not give it.
	FlagAt, Quarter, Lease string
}

// clockSkew reads the source's clock skew for the health page: nil when
// the source or its store has no server clock, a row that says so when
// the reading fails.
func (h *handler) clockSkew(r *http.Request) *clockRow {
	cs, ok := h.src.(clockSkewer)
	if !ok {
		return nil
	}
	skew, err := cs.ClockSkew(r.Context())
	switch {
	case errors.Is(err, connector.ErrNoServerClock):
		return nil
	case err != nil:
		return &clockRow{Failed: h.logFailure(r, err)}
	}
	flag, quarter, lease := clockSkewFlag, "", ""
	if l, ok := h.src.(leaser); ok && l.Lease() > 0 {
		flag = min(flag, l.Lease()/12)
		quarter, lease = roundAmount(l.Lease()/4), roundAmount(l.Lease())
	}
	return &clockRow{
		Seconds: strconv.FormatFloat(skew.Seconds(), 'f', -1, 64),
		Words:   skewWords(skew),
		Flag:    skew >= flag || skew <= -flag,
		FlagAt:  roundAmount(flag),
		Quarter: quarter,
		Lease:   lease,
	}
}

// roundAmount writes a positive duration as skewAmount does, without a
// decimal that is zero: "5 s", "1.7 s", "15 s", "1 minute".
func roundAmount(d time.Duration) string {
	return strings.Replace(skewAmount(d), ".0 s", " s", 1)
}

// skewWords says where the engine's clock stands against the server's:
// "0.3 s ahead of", "12 ms behind", "within a millisecond of".
func skewWords(d time.Duration) string {
	a := d.Abs()
	switch {
	case a < time.Millisecond:
		return "within a millisecond of"
	case d > 0:
		return skewAmount(a) + " ahead of"
	default:
		return skewAmount(a) + " behind"
	}
}

// skewAmount writes a, at least a millisecond, in the unit that suits
// it: milliseconds under a tenth of a second, seconds to one decimal
// under a minute, then in words ("2 hours 3 minutes": a clock that
// stepped).
func skewAmount(a time.Duration) string {
	switch {
	case a < 100*time.Millisecond:
		return fmt.Sprintf("%d ms", a.Round(time.Millisecond).Milliseconds())
	case a < time.Minute:
		return strconv.FormatFloat(a.Seconds(), 'f', 1, 64) + " s"
	default:
		return durationWords(a)
	}
}
