package connector

import (
	"context"
	"fmt"
	"time"

	"github.com/campaignconnector/campaignconnector/rule"
)

// LocationFunc is a [Directory] for hosts that know their users' time
// zones but keep no segments: the function answers Location. It resolves
// no segment, so an engine with it refuses to save a campaign with an
// Audience ([ErrNoDirectory]) instead of leaving every user out of it;
// InSegment fails the same way for a campaign with an audience another
// engine saved.
//
//	connector.WithDirectory(connector.LocationFunc(func(ctx context.Context, userID string) (*time.Location, error) {
//		return users.Zone(ctx, userID) // nil: the engine's default location
//	}))
type LocationFunc func(ctx context.Context, userID string) (*time.Location, error)

// Location calls f(ctx, userID).
func (f LocationFunc) Location(ctx context.Context, userID string) (*time.Location, error) {
	return f(ctx, userID)
}

// InSegment fails with an error wrapping [ErrNoDirectory]: f knows no
// segment.
func (f LocationFunc) InSegment(_ context.Context, _, segment string) (bool, error) {
	return false, fmt.Errorf("%w: audience %q, but the Directory is a LocationFunc, which knows only time zones", ErrNoDirectory, segment)
}

func (LocationFunc) resolvesSegments() bool { return false }

// SegmentFunc is a [Directory] for hosts that keep segments but no time
// zones: the function answers InSegment, and every user is in the
// engine's default location ([WithLocation]), as with no Directory.
//
//	connector.WithDirectory(connector.SegmentFunc(func(ctx context.Context, userID, segment string) (bool, error) {
//		return users.InSegment(ctx, userID, segment)
//	}))
type SegmentFunc func(ctx context.Context, userID, segment string) (bool, error)

// Location returns nil: the engine's default location.
func (SegmentFunc) Location(context.Context, string) (*time.Location, error) { return nil, nil }

// InSegment calls f(ctx, userID, segment).
func (f SegmentFunc) InSegment(ctx context.Context, userID, segment string) (bool, error) {
	return f(ctx, userID, segment)
}

var (
	_ Directory = LocationFunc(nil)
	_ Directory = SegmentFunc(nil)
)

// checkAudience refuses c's audience when the engine's directory cannot
// resolve segments: without this, every user would be left out.
func (e *Engine) checkAudience(c *rule.Campaign) error {
	if c.Audience == "" {
		return nil
	}
	reason := ""
	switch d := e.cfg.directory.(type) {
	case nil:
		reason = fmt.Sprintf("audience %q needs the engine's Directory", c.Audience)
	case interface{ resolvesSegments() bool }:
		if !d.resolvesSegments() {
			reason = fmt.Sprintf("audience %q needs a Directory that resolves segments; the engine's knows only time zones (LocationFunc)", c.Audience)
		}
	}
	if reason == "" {
		return nil
	}
	return &rule.ValidationError{Object: "campaign", Field: "audience", Reason: reason, Err: ErrNoDirectory}
}
