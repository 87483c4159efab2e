package connector

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/internal/nilval"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// ErrNoDirectory: a campaign needs the host's [Directory] to resolve its
// audience, but the engine was built without [WithDirectory], or with a
// [LocationFunc], which knows only time zones.
var ErrNoDirectory = errors.New("connector: campaign needs a Directory (WithDirectory)")

// Directory answers the engine's questions about users; the host implements
// it with its own user database ([LocationFunc] and [SegmentFunc] adapt a
// function when it knows only one of the two). Errors are returned to the caller of
// Track (nothing changed: the host may retry) or, at send time, retry the
// delivery later. Implementations must be safe for concurrent use; the
// engine calls them outside its locks, only when a campaign needs them.
type Directory interface {
	// Location returns the user's time zone, or nil for the engine's
	// default ([WithLocation]).
	Location(ctx context.Context, userID string) (*time.Location, error)
	// InSegment reports whether the user belongs to the named segment
	// (a campaign's Audience).
	InSegment(ctx context.Context, userID, segment string) (bool, error)
}

// WithDirectory sets the host's user directory: users' time zones (for
// calendar delays, send windows, quiet hours and calendar-day caps) and
// audience membership. Defaults to none: every user is in the engine's
// default location, and campaigns with an audience are refused by Save.
func WithDirectory(d Directory) Option {
	return func(cfg *config) error {
		if nilval.Func(d) {
			return errorf("nil directory%s", nilType(d))
		}
		cfg.directory = d
		return nil
	}
}

// QuietHours is an engine-wide period of the user's day, [From, To) in the
// user's zone (To before From spans midnight; From and To must differ),
// during which nothing is sent. A delivery falling inside is aborted
// (suppressed, quiet_hours) or, with Defer, moved to the end of the
// period. The wall clock is read to the minute; on the days clocks change,
// the period ends as a send window opening at To would open
// ([rule.SendWindow.Next]).
type QuietHours struct {
	From, To rule.TimeOfDay
	Defer    bool
}

// WithQuietHours sets quiet hours. Defaults to none.
func WithQuietHours(q QuietHours) Option {
	return func(cfg *config) error {
		if !q.From.Valid() || !q.To.Valid() || q.From == q.To {
			return errorf("quiet hours need two different times of day, got %s–%s%s%s", q.From, q.To,
				notTimeOfDay("From", q.From), notTimeOfDay("To", q.To))
		}
		cfg.quiet = &q
		return nil
	}
}

// notTimeOfDay says why bound t of quiet hours is not a time of day, or
// "" when it is one: an hour or minute out of range makes rule.At return
// TimeOfDay(-1), which the bare "two different times of day" hides.
func notTimeOfDay(bound string, t rule.TimeOfDay) string {
	switch {
	case t.Valid():
		return ""
	case t == -1:
		return fmt.Sprintf("; %s is not a time of day (rule.At gives TimeOfDay(-1) for an hour outside 0–23 or a minute outside 0–59)", bound)
	default:
		return fmt.Sprintf("; %s is not a time of day (0 to 1439 minutes after midnight)", bound)
	}
}

// FrequencyCap allows at most Max deliveries per window to a user, on
// Channel ("" counts every channel). The window is either rolling (Window:
// the last Window before the send; a delivery exactly Window ago no longer
// counts) or calendar days of the user's zone (Days: today and the Days-1
// days before, from local midnight; at most 106,750, about 292 years).
// Caps are checked when a delivery is about to be sent; a capped delivery
// is suppressed (frequency_capped), does not count as received and does
// not count toward caps. Campaigns with IgnoreFrequencyCaps are neither
// capped nor counted.
//
// Max must be at least 1, Channel "" or a known channel, and exactly one
// of Window and Days positive, Days at most 106,750 (its horizon must be
// a time.Duration): [WithFrequencyCaps] makes [New] fail with an error
// wrapping [ErrInvalidOption] otherwise.
type FrequencyCap struct {
	Max     int
	Channel event.Channel
	Window  time.Duration
	Days    int
}

func (c FrequencyCap) validate() error {
	switch {
	case c.Max < 1:
		return errorf("frequency cap needs Max ≥ 1, got %d", c.Max)
	case c.Channel != "" && !c.Channel.Valid():
		_, err := event.ParseChannel(string(c.Channel)) // its text suggests a channel a misspelt one is near
		return errorf("frequency cap: %s", strings.TrimPrefix(err.Error(), "event: "))
	case (c.Window > 0) == (c.Days > 0) || c.Window < 0 || c.Days < 0:
		return errorf("frequency cap {Max: %d, Channel: %q} needs exactly one of a positive Window "+
			"(rolling) or Days (calendar days), got Window %v and Days %d", c.Max, c.Channel, c.Window, c.Days)
	case c.Days > maxCapDays:
		return errorf("frequency cap {Max: %d, Channel: %q} needs Days at most %d (about 292 years, "+
			"the longest time.Duration), got Days %d", c.Max, c.Channel, maxCapDays, c.Days)
	}
	return nil
}

// maxCapDays is the most calendar days a cap may count: its horizon
// (Days days and 26 hours) must be a time.Duration.
const maxCapDays = int((math.MaxInt64 - 26*time.Hour) / (24 * time.Hour))

// horizon is how long a send can matter to the cap.
func (c FrequencyCap) horizon() time.Duration {
	if c.Days > 0 {
		return time.Duration(c.Days)*24*time.Hour + 26*time.Hour // DST and zone slack
	}
	return c.Window
}

// String describes the cap in words: "3 per 7 calendar days on email",
// "1 per calendar day", "5 per 24 hours on push", "2 per 7 days" (a
// rolling window, in the largest unit that measures it whole). A
// delivery the cap suppresses gets a frequency_capped decision whose
// Detail is "cap " followed by these words.
func (c FrequencyCap) String() string {
	s := fmt.Sprintf("%d per ", c.Max)
	switch {
	case c.Days == 1:
		s += "calendar day"
	case c.Days > 1:
		s += fmt.Sprintf("%d calendar days", c.Days)
	default:
		s += windowWords(c.Window)
	}
	if c.Channel != "" {
		s += " on " + string(c.Channel)
	}
	return s
}

// windowWords says rolling window d as a person writes it after "per": in
// the largest unit that measures it whole, of days (from two), hours,
// minutes and seconds ("7 days", "36 hours", "24 hours", "90 minutes"),
// a single unit without its 1 ("hour"); in Go's form ("1.5s") when no
// whole number of seconds measures it.
func windowWords(d time.Duration) string {
	for _, u := range []struct {
		size time.Duration
		name string
	}{{24 * time.Hour, "day"}, {time.Hour, "hour"}, {time.Minute, "minute"}, {time.Second, "second"}} {
		n := d / u.size
		switch {
		case d <= 0 || d%u.size != 0 || u.size == 24*time.Hour && n < 2:
			continue
		case n == 1:
			return u.name
		}
		return fmt.Sprintf("%d %ss", n, u.name)
	}
	return d.String()
}

// WithFrequencyCaps sets the engine's frequency caps; a delivery must pass
// all of them (AND). Defaults to none.
func WithFrequencyCaps(caps ...FrequencyCap) Option {
	return func(cfg *config) error {
		for _, c := range caps {
			if err := c.validate(); err != nil {
				return err
			}
			cfg.capHorizon = max(cfg.capHorizon, c.horizon())
		}
		cfg.caps = append(cfg.caps, caps...)
		return nil
	}
}

// WithMaxDeferral sets how long past its due time a delivery may be
// deferred (by a send window, quiet hours or a rate limit) before it is
// dropped, and held back by a failing directory before it fails.
// Defaults to 72 hours.
func WithMaxDeferral(d time.Duration) Option {
	return positive("max deferral", d, func(cfg *config) *time.Duration { return &cfg.maxDeferral })
}

// WithAllowedLateness holds every delivery for d after its due time, so
// that an exception that happened before the due time but is reported up
// to d late still cancels it. Defaults to 0.
func WithAllowedLateness(d time.Duration) Option {
	return func(cfg *config) error {
		if d < 0 {
			return errorf("allowed lateness must not be negative, got %v", d)
		}
		cfg.lateness = d
		return nil
	}
}

// WithMaxTriggerAge ignores triggers that happened more than d before they
// are tracked (suppressed, trigger_too_old): a replayed or long-delayed
// webhook must not send stale follow-ups. Defaults to 0: no limit.
func WithMaxTriggerAge(d time.Duration) Option {
	return positive("max trigger age", d, func(cfg *config) *time.Duration { return &cfg.maxTriggerAge })
}

// WithMaxTriggerLead ignores triggers stamped more than d after the
// engine's clock when they are tracked (suppressed, trigger_too_far_ahead):
// a device whose clock runs ahead, or a forged webhook, must not schedule a
// delivery that falls due only when its stamp comes (and that, under the
// default pending policy, keeps the user from the follow-up until then).
// Defaults to 0: no limit (a stamp ahead is judged by its stamp).
func WithMaxTriggerLead(d time.Duration) Option {
	return positive("max trigger lead", d, func(cfg *config) *time.Duration { return &cfg.maxTriggerLead })
}

// needsLocation reports whether deciding about c needs the user's zone:
// calendar delays and send windows at scheduling time.
func needsLocation(c *rule.Campaign) bool {
	return c.Delay.IsCalendar() || c.SendWindow != nil
}

// needsLocationAtSend reports whether the send-time checks of c need the
// user's zone.
func (e *Engine) needsLocationAtSend(c *rule.Campaign) bool {
	if c.SendWindow != nil || e.cfg.quiet != nil {
		return true
	}
	if c.IgnoreFrequencyCaps {
		return false
	}
	for _, cap := range e.cfg.caps {
		if cap.Days > 0 && (cap.Channel == "" || cap.Channel == c.Channel) {
			return true
		}
	}
	return false
}

// location asks the directory for the user's zone, defaulting to the
// engine's location. byDirectory reports a zone the directory gave, which
// the details quoting local times say.
func (e *Engine) location(ctx context.Context, userID string) (loc *time.Location, byDirectory bool, err error) {
	if e.cfg.directory == nil {
		return e.cfg.location, false, nil
	}
	loc, err = e.cfg.directory.Location(ctx, userID)
	if err != nil {
		return nil, false, fmt.Errorf("connector: directory: location of %q: %w", userID, err)
	}
	if loc == nil {
		return e.cfg.location, false, nil
	}
	return loc, true, nil
}

// inSegment asks the directory whether the user is in segment.
func (e *Engine) inSegment(ctx context.Context, userID, segment string) (bool, error) {
	if e.cfg.directory == nil {
		return false, fmt.Errorf("%w: audience %q", ErrNoDirectory, segment)
	}
	in, err := e.cfg.directory.InSegment(ctx, userID, segment)
	if err != nil {
		return false, fmt.Errorf("connector: directory: is %q in %q: %w", userID, segment, err)
	}
	return in, nil
}

// quietUntil returns the end of the quiet period containing now, or the
// zero time when now is not quiet.
func (q *QuietHours) quietUntil(now time.Time, loc *time.Location) time.Time {
	if q == nil {
		return time.Time{}
	}
	w := rule.SendWindow{From: q.From, To: q.To}
	if !w.Contains(now, loc) {
		return time.Time{}
	}
	// The period ends where the rest of the day begins (From != To): the
	// next opening of that window, which on a night the clocks go back may
	// be the second To of the repeated hour.
	rest := rule.SendWindow{From: q.To, To: q.From}
	return rest.Next(now, loc)
}

// capped returns the first cap that a delivery of campaign c at now would
// exceed for user u, counting the user's recent sends and the deliveries
// being sent right now (by this or another engine) except except.
func (e *Engine) capped(u *store.UserState, c *rule.Campaign, except string, now time.Time, loc *time.Location) (FrequencyCap, bool) {
	for _, cap := range e.cfg.caps {
		if !cap.appliesTo(c) {
			continue
		}
		since := now.Add(-cap.Window)
		if cap.Days > 0 {
			local := now.In(loc)
			y, m, d := local.Date()
			since = rule.WallTime(y, m, d-(cap.Days-1), 0, 0, loc).Add(-time.Nanosecond)
		}
		n := 0
		for _, s := range u.Sends {
			if (cap.Channel == "" || s.Channel == cap.Channel) && s.At.After(since) {
				n++
			}
		}
		for _, p := range u.Pending { // being sent, by another slot or engine
			if !p.Sending || p.ID == except {
				continue
			}
			if ch, counted := e.capsCount(p.CampaignID); counted && (cap.Channel == "" || ch == cap.Channel) {
				n++
			}
		}
		if n >= cap.Max {
			return cap, true
		}
	}
	return FrequencyCap{}, false
}

// cappedNow reports whether the caps would drop claim c's delivery of
// campaign def at now, as its last check would find the user's state now.
// It reads the user's state only when a cap applies to def.
func (e *Engine) cappedNow(ctx context.Context, def *rule.Campaign, c *store.Claim, now time.Time, loc *time.Location) (bool, error) {
	if !e.capsApply(def) {
		return false, nil
	}
	u, err := e.store.User(ctx, e.cfg.namespace, c.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	_, capped := e.capped(&u, def, c.Pending.ID, now, loc)
	return capped, nil
}

// capsApply reports whether a cap of the engine applies to campaign c.
func (e *Engine) capsApply(c *rule.Campaign) bool {
	return slices.ContainsFunc(e.cfg.caps, func(cap FrequencyCap) bool { return cap.appliesTo(c) })
}

// appliesTo reports whether cap counts and limits the sends of campaign c:
// c is not exempt, and cap is on every channel or on c's.
func (cap FrequencyCap) appliesTo(c *rule.Campaign) bool {
	return !c.IgnoreFrequencyCaps && (cap.Channel == "" || cap.Channel == c.Channel)
}

// capsCount returns the channel of follow-up campaignID and whether caps
// count its deliveries (not when it ignores them). A follow-up the
// snapshot does not know counts, on no channel.
func (e *Engine) capsCount(campaignID string) (event.Channel, bool) {
	if c := e.snap.Load().campaign(campaignID); c != nil {
		return c.Campaign.Channel, !c.Campaign.IgnoreFrequencyCaps
	}
	return "", true
}

// recordSend adds a send to the user's history when caps could count it.
func (e *Engine) recordSend(u *store.UserState, c *rule.Campaign, now time.Time) {
	if len(e.cfg.caps) == 0 || c.IgnoreFrequencyCaps {
		return
	}
	u.Sends = append(u.Sends, store.Send{CampaignID: c.ID, Channel: c.Channel, At: now, Expires: now.Add(e.cfg.capHorizon)})
}
