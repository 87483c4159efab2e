package connector

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/stretchr/testify/require"
)

// Deliveries that fall due while all slots but one send do not wait for
// that one slot alone once the others come free: a Tick that Run starts
// with a few slots claims no more than those slots can send, and the
// rest go out on the slots that come free.
func TestRunSendsABacklogOnTheSlotsThatComeFree(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release, free := gate(t)
		var mu sync.Mutex
		started := map[string]time.Time{}
		send := func(_ context.Context, d Delivery) error {
			if d.CampaignID == "now" {
				<-release // hung until the test lets them go
				return nil
			}
			mu.Lock()
			started[d.UserID] = time.Now()
			mu.Unlock()
			time.Sleep(time.Second)
			return nil
		}
		h := newRunHarness(t, send, WithSendConcurrency(4))
		h.run()
		for i := range 3 { // three slots hang, each on a Tick of its own
			trackFor(t, h.engine, fmt.Sprint("hung", i), event.EmailOpened)
			synctest.Wait()
		}
		for i := range 20 { // due together in ten minutes, with one slot free
			trackFor(t, h.engine, fmt.Sprint("u", i), event.EmailClicked)
		}
		due := h.start.Add(10 * time.Minute)
		h.sleep(10*time.Minute + 2*time.Second)
		free() // three slots come free
		h.sleep(time.Minute)
		mu.Lock()
		defer mu.Unlock()
		require.Len(t, started, 20)
		var last time.Time
		for _, at := range started {
			if at.After(last) {
				last = at
			}
		}
		// Two sends on the free slot, then 18 on four slots: five rounds.
		require.LessOrEqual(t, last.Sub(due), 7*time.Second, "the backlog waited for one slot while three were free")
	})
}
