package connector

import (
	"context"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/stretchr/testify/require"
)

func TestDeliveryIDSeparatesFields(t *testing.T) {
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	base := event.Event{ID: "evt-1", UserID: "user-1", Time: at}
	id := deliveryID("ns", "follow_up", &base)
	if len(id) != 16 || strings.Trim(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
		t.Fatalf("ID %q: want 16 characters of URL-safe base64", id)
	}
	if again := deliveryID("ns", "follow_up", &base); again != id {
		t.Fatalf("the same trigger gave %q, then %q", id, again)
	}
	seen := map[string]string{id: "base"}
	variant := func(name, ns, campaign string, ev event.Event) {
		t.Helper()
		got := deliveryID(ns, campaign, &ev)
		if prev, ok := seen[got]; ok {
			t.Errorf("%s and %s share the ID %s", name, prev, got)
		}
		seen[got] = name
	}
	other := base
	other.UserID = "user-2"
	variant("another user", "ns", "follow_up", other)
	other = base
	other.ID = "evt-2"
	variant("another event ID", "ns", "follow_up", other)
	other = base
	other.Time = at.Add(time.Nanosecond)
	variant("a nanosecond later", "ns", "follow_up", other)
	variant("another namespace", "ns2", "follow_up", base)
	variant("another follow-up", "ns", "follow_up2", base)
	// Moving bytes across field boundaries changes the ID.
	variant("namespace's last byte moved to the follow-up", "n", "sfollow_up", base)
	other = base
	other.UserID, other.ID = "user-1evt-1", ""
	variant("event ID moved into the user ID", "ns", "follow_up", other)
	// Fields of eight bytes and more, differing in one byte of a full word
	// or of the tail.
	long := base
	long.UserID = "0123456789abcdefXYZ"
	variant("long user ID", "ns", "follow_up", long)
	for _, u := range []string{"0123456789abcdeFXYZ", "0123456789abcdefXYz", "0123456789abcdefXYZ\x00"} {
		long.UserID = u
		variant("long user ID "+u, "ns", "follow_up", long)
	}
}

func BenchmarkDeliveryID(b *testing.B) {
	ev := event.Event{ID: "evt-123456", UserID: "user-123456", Time: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	b.ReportAllocs()
	for b.Loop() {
		_ = deliveryID("", "cart_reminder", &ev)
	}
}

// TestEncodeIDMatchesLoop checks the written-out encoder against the
// plain loop it unrolls (delivery IDs must not change between versions).
func TestEncodeIDMatchesLoop(t *testing.T) {
	loop := func(a, b uint64) [16]byte {
		var buf [16]byte
		for i := range 10 {
			buf[i] = idDigits[a>>(6*i)&63]
		}
		for i := range 6 {
			buf[10+i] = idDigits[b>>(6*i)&63]
		}
		return buf
	}
	r := rand.New(rand.NewPCG(3, 4))
	for range 10_000 {
		a, b := r.Uint64(), r.Uint64()
		if got, want := encodeID(a, b), loop(a, b); got != want {
			t.Fatalf("encodeID(%#x, %#x) = %q, want %q", a, b, got[:], want[:])
		}
	}
}

// goldenTrigger is a trigger whose delivery ID is written out below: IDs
// are promised stable across versions (hosts deduplicate sends on them and
// stores keep them), so any change to their derivation fails here.
type goldenTrigger struct {
	name      string
	namespace string
	followUp  string
	ev        event.Event
	want      string
}

func goldenTriggers(t *testing.T) []goldenTrigger {
	t.Helper()
	newYork, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	nanos := time.Date(2026, 3, 2, 9, 0, 0, 123456789, time.UTC)
	ev := func(user, id string, t time.Time) event.Event {
		return event.Event{ID: id, UserID: user, Kind: event.EmailReceived, CampaignID: "newsletter", Time: t}
	}
	return []goldenTrigger{
		{"default namespace", "", "resend", ev("ann", "rcv-ann", at), "VWxRTy430VP3Yko1"},
		{"a namespace", "tenant-a", "resend", ev("ann", "rcv-ann", at), "V96jC3cwX_tUXcaC"},
		{"another follow-up", "", "resend-sms", ev("ann", "rcv-ann", at), "kQaU2Wo1YMvBgrEs"},
		{"another user", "", "resend", ev("bob", "rcv-ann", at), "nnx2psNm410B5YnD"},
		{"an event without ID", "", "resend", ev("ann", "", at), "rK86sMI0pYtJnD12"},
		// Without an event ID, kind, campaign, target and name tell events
		// at the same time apart.
		{"a purchase without ID", "", "resend", event.Event{UserID: "ann", Kind: event.Purchase, Name: "sku-1", Time: at}, "54CmvAwcC7oaOXu4"},
		{"another product", "", "resend", event.Event{UserID: "ann", Kind: event.Purchase, Name: "sku-2", Time: at}, "eMZoRIgsf7Pcyeng"},
		{"a click without ID", "", "resend", event.Event{UserID: "ann", Kind: event.EmailAliasClicked, CampaignID: "newsletter", Target: "cta", Time: at}, "Ks4M71_i71ZVO5qr"},
		{"a time with nanoseconds", "", "resend", ev("ann", "rcv-ann", nanos), "_Y1BnmhUIdjID8yY"},
		// The ID hashes the instant, not its zone: the same instant read in
		// New York gives the UTC case's ID, and so does a fixed offset.
		{"the same instant in New York", "", "resend", ev("ann", "rcv-ann", at.In(newYork)), "VWxRTy430VP3Yko1"},
		{"the same instant at +05:30", "", "resend", ev("ann", "rcv-ann", at.In(time.FixedZone("IST", 5*3600+1800))), "VWxRTy430VP3Yko1"},
		{"a time before 1970", "", "resend", ev("ann", "rcv-ann", time.Date(1969, 12, 31, 23, 59, 59, 999999999, time.UTC)), "688XO2j4wqMSVuIX"},
		{"IDs longer than a word", "tenant-with-a-long-name", "resend-after-a-week", ev("user-0123456789abcdef", "evt-0123456789abcdefXYZ", nanos), "VBD8ENFai6--_n9u"},
		{"non-ASCII IDs", "", "relance", ev("zoë@example.com", "réception-1", at), "Mi28TMrhMf99e4mT"},
	}
}

// TestDeliveryIDVariantsDoNotChangeBetweenVersions pins the IDs a trigger
// tracked again without an event ID takes while its first delivery waits.
func TestDeliveryIDVariantsDoNotChangeBetweenVersions(t *testing.T) {
	for k, want := range map[int]string{1: "r6dalg2gOyhes6gg", 2: "eWDeplJKiha9ynAg"} {
		if got := variant("rK86sMI0pYtJnD12", k); got != want {
			t.Errorf("variant %d: %q, want %q", k, got, want)
		}
	}
}

func TestDeliveryIDsDoNotChangeBetweenVersions(t *testing.T) {
	for _, g := range goldenTriggers(t) {
		t.Run(g.name, func(t *testing.T) {
			if got := deliveryID(g.namespace, g.followUp, &g.ev); got != g.want {
				t.Errorf("deliveryID(%q, %q, %+v) = %q, want %q", g.namespace, g.followUp, g.ev, got, g.want)
			}
			// The engine hashes from a prefix it keeps per follow-up.
			if got := idPrefix(g.namespace, g.followUp).delivery(&g.ev); got != g.want {
				t.Errorf("from the follow-up's prefix: %q, want %q", got, g.want)
			}
		})
	}
}

// TestSenderSeesTheGoldenDeliveryIDs tracks the golden triggers through an
// engine and checks the ID its sender receives, and that an event without a
// time takes the clock's.
func TestSenderSeesTheGoldenDeliveryIDs(t *testing.T) {
	ctx := context.Background()
	cases := goldenTriggers(t)
	stamped := cases[0] // the default namespace's trigger, tracked without a time
	stamped.name, stamped.ev.Time = "an event stamped by the clock", time.Time{}
	cases = append(cases, stamped)
	for _, g := range cases {
		t.Run(g.name, func(t *testing.T) {
			// The follow-up is published at the trigger's instant: a trigger
			// before it would be history, not a trigger.
			clk := clock.NewMock()
			if g.ev.Time.IsZero() {
				clk.Set(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
			} else {
				clk.Set(g.ev.Time)
			}
			var got []string
			send := SenderFunc(func(_ context.Context, d Delivery) error {
				got = append(got, d.ID)
				return nil
			})
			engine, err := New(store.NewMemory(), send, WithClock(clk), WithNamespace(g.namespace))
			require.NoError(t, err)
			require.NoError(t, engine.Save(ctx, rule.Campaign{ID: "newsletter"}))
			require.NoError(t, engine.Save(ctx, rule.Campaign{
				ID:       g.followUp,
				Triggers: []rule.Trigger{{Kind: g.ev.Kind, CampaignID: g.ev.CampaignID, Target: g.ev.Target, Name: g.ev.Name}},
			}))
			require.NoError(t, engine.Publish(ctx, g.followUp))
			require.NoError(t, engine.Publish(ctx, "newsletter"))
			require.NoError(t, engine.Track(ctx, g.ev))
			_, err = engine.Tick(ctx)
			require.NoError(t, err)
			require.Equal(t, []string{g.want}, got)
		})
	}
}

// TestATriggerAgainTakesTheFirstVariant: the same trigger tracked twice
// while its first delivery waits (no event ID, the same time) gives the
// golden ID, then its first variant.
func TestATriggerAgainTakesTheFirstVariant(t *testing.T) {
	ctx := context.Background()
	var g goldenTrigger
	for _, c := range goldenTriggers(t) {
		if c.name == "an event without ID" {
			g = c
		}
	}
	clk := clock.NewMock()
	clk.Set(g.ev.Time)
	var mu sync.Mutex // Tick sends the two deliveries at once
	var got []string
	send := SenderFunc(func(_ context.Context, d Delivery) error {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, d.ID)
		return nil
	})
	engine, err := New(store.NewMemory(), send, WithClock(clk))
	require.NoError(t, err)
	require.NoError(t, engine.Apply(ctx, []rule.Campaign{{ID: "newsletter"}, {ID: g.followUp,
		PendingPolicy: rule.AllowParallel, Triggers: []rule.Trigger{{Kind: g.ev.Kind, CampaignID: g.ev.CampaignID}}}}))
	require.NoError(t, engine.Track(ctx, g.ev))
	require.NoError(t, engine.Track(ctx, g.ev))
	_, err = engine.Tick(ctx)
	require.NoError(t, err)
	require.ElementsMatch(t, []string{g.want, variant(g.want, 1)}, got)
}
