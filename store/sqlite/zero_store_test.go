package sqlite_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/campaignconnector/campaignconnector/store/sqlite"
	"github.com/stretchr/testify/require"
)

// A Store not made by Open (the zero value) is not open: every method
// answers an error wrapping store.ErrClosed, where some panicked and
// others waited for ever on a write turn no one would give.
func TestTheZeroStoreIsNotOpen(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var s sqlite.Store
	calls := map[string]func() error{
		"Update": func() error {
			return s.Update(ctx, "", "u", now, store.Dedup{}, func(*store.UserState, bool) {})
		},
		"UpdateBatch": func() error {
			ops := []store.Op{{UserID: "u", Now: now, Fn: func(*store.UserState, bool) {}}}
			if err := s.UpdateBatch(ctx, "", ops); err != nil {
				return err
			}
			return ops[0].Err
		},
		"Campaigns": func() error { _, _, err := s.Campaigns(ctx, ""); return err },
		"UpdateCampaign": func() error {
			_, err := s.UpdateCampaign(ctx, "", "c", func(*store.CampaignRecord, bool) error { return nil })
			return err
		},
		"Revision": func() error { _, err := s.Revision(ctx, ""); return err },
		"Take":     func() error { _, err := s.Take(ctx, "", "k", 1, now, now.Add(time.Minute)); return err },
		"Stats":    func() error { _, err := s.Stats(ctx, ""); return err },
		"AppendInteractions": func() error {
			return s.AppendInteractions(ctx, "", []event.Event{{UserID: "u", Kind: event.EmailOpened, CampaignID: "c", Time: now}}, now)
		},
		"Interactions": func() error {
			return s.Interactions(ctx, "", store.InteractionQuery{}, func(event.Event) bool { return true })
		},
		"ListPending":    func() error { _, err := s.ListPending(ctx, "", store.PendingQuery{}); return err },
		"Prune":          func() error { _, err := s.Prune(ctx, "", now, now); return err },
		"NextDue":        func() error { _, _, err := s.NextDue(ctx, ""); return err },
		"Claim":          func() error { _, err := s.Claim(ctx, "", now, time.Minute, 1, 1); return err },
		"CancelCampaign": func() error { _, err := s.CancelCampaign(ctx, "", "c"); return err },
		"AddTallies":     func() error { return s.AddTallies(ctx, "", []store.Tally{{CampaignID: "c", Hour: now, Count: 1}}) },
		"Tallies":        func() error { _, err := s.Tallies(ctx, "", store.TallyQuery{}); return err },
		"PruneTallies":   func() error { _, err := s.PruneTallies(ctx, "", now); return err },
		"User":           func() error { _, err := s.User(ctx, "", "u"); return err },
		"Backup":         func() error { return s.Backup(ctx, filepath.Join(t.TempDir(), "copy.db")) },
		"Close":          s.Close,
	}
	calls["Notify"] = func() error {
		ch, stop := s.Notify("")
		defer stop()
		select {
		case <-ch:
			return errors.New("a notification from a store that is not open")
		default:
		}
		_, err := s.Stats(ctx, "")
		return err
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			err := call()
			require.ErrorIs(t, err, store.ErrClosed)
			require.ErrorContains(t, err, "use Open")
		})
	}
}
