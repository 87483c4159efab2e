package dashboard

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/campaignconnector/campaignconnector/event"
)

// textStore is a fake whose actions fail as PostgreSQL's do for an ID it
// cannot hold (a NUL byte, invalid UTF-8): with a store error, not
// connector.ErrUnknownCampaign. asked counts the actions that reached it.
type textStore struct {
	*fakeSource
	asked int
}

func (s *textStore) check(id string) error {
	s.asked++
	if event.CheckText(id) != nil {
		return errors.New(`postgres: update campaign: ERROR: invalid byte sequence for encoding "UTF8": 0x00 (SQLSTATE 22021)`)
	}
	return nil
}

func (s *textStore) Publish(ctx context.Context, id string) error {
	if err := s.check(id); err != nil {
		return err
	}
	return s.fakeSource.Publish(ctx, id)
}

func (s *textStore) Stop(ctx context.Context, id string) error {
	if err := s.check(id); err != nil {
		return err
	}
	return s.fakeSource.Stop(ctx, id)
}

func (s *textStore) Archive(ctx context.Context, id string) error {
	if err := s.check(id); err != nil {
		return err
	}
	return s.fakeSource.Archive(ctx, id)
}

// An action form naming an ID no campaign can have (a NUL byte, invalid
// UTF-8, longer than any ID events may name) is refused as a bad request
// before the engine is asked, as the pages refuse such an ID: not a 500
// and an Error line for a store that cannot hold the ID, nor a 404 page
// repeating 60 KB of it.
func TestAnActionOnAnIDNoCampaignCanHaveIsABadRequest(t *testing.T) {
	src := &textStore{fakeSource: populatedFake()}
	h := mustHandler(t, src, WithActions())
	ck, token := startSession(t, h)
	long := strings.Repeat("x", 60_000)
	for _, id := range []string{"a\x00b", "\xff", long} {
		for _, op := range []string{opPublish, opStop, opArchive} {
			form := url.Values{"op": {op}, "id": {id}, "csrf": {token}, "confirm": {opArchive}}
			rec := post(h, form, ck, nil)
			if rec.Code != http.StatusBadRequest {
				t.Errorf("%s of %.12q: %d, want %d", op, id, rec.Code, http.StatusBadRequest)
			}
			if page := rec.Body.String(); strings.Contains(page, long[:maxUserID+1]) {
				t.Errorf("%s of %.12q: the page repeats the %d-byte ID", op, id, len(id))
			}
		}
	}
	if src.asked != 0 {
		t.Errorf("the engine was asked %d times", src.asked)
	}
	// An ID that is text, within the limit, is the engine's to judge.
	if rec := post(h, url.Values{"op": {opStop}, "id": {"resend"}, "csrf": {token}}, ck, nil); rec.Code != http.StatusSeeOther || src.asked != 1 {
		t.Errorf("a valid stop: %d, engine asked %d times", rec.Code, src.asked)
	}
	// So is one longer than Save accepts, which a campaign stored without
	// Save may have: the engine knows whether it holds one.
	if rec := post(h, url.Values{"op": {opStop}, "id": {strings.Repeat("y", 300)}, "csrf": {token}}, ck, nil); rec.Code != http.StatusNotFound || src.asked != 2 {
		t.Errorf("a stop of an unknown 300-byte ID: %d, engine asked %d times", rec.Code, src.asked)
	}
}
