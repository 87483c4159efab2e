package event_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/stretchr/testify/require"
)

func TestTheNineteenInteractions(t *testing.T) {
	want := []struct {
		kind    event.Kind
		wire    string
		channel event.Channel
		target  bool
	}{
		{event.InAppMessageViewed, "in_app_message_viewed", event.InApp, false},
		{event.InAppMessageClicked, "in_app_message_clicked", event.InApp, false},
		{event.InAppMessageButtonClicked, "in_app_message_button_clicked", event.InApp, true},
		{event.EmailClicked, "email_clicked", event.Email, false},
		{event.EmailAliasClicked, "email_alias_clicked", event.Email, true},
		{event.EmailOpened, "email_opened", event.Email, false},
		{event.PushOpened, "push_opened", event.Push, false},
		{event.PushButtonClicked, "push_button_clicked", event.Push, true},
		{event.PushStoryPageClicked, "push_story_page_clicked", event.Push, true},
		{event.ConversionPerformed, "conversion_performed", "", true},
		{event.EmailReceived, "email_received", event.Email, false},
		{event.SMSReceived, "sms_received", event.SMS, false},
		{event.SMSLinkClicked, "sms_link_clicked", event.SMS, false},
		{event.PushReceived, "push_received", event.Push, false},
		{event.WebhookReceived, "webhook_received", event.Webhook, false},
		{event.ControlGroupEnrolled, "control_group_enrolled", "", false},
		{event.ContentCardViewed, "content_card_viewed", event.ContentCard, false},
		{event.ContentCardClicked, "content_card_clicked", event.ContentCard, false},
		{event.ContentCardDismissed, "content_card_dismissed", event.ContentCard, false},
	}
	got := event.Interactions()
	require.Len(t, got, 19)
	for i, w := range want {
		t.Run(w.wire, func(t *testing.T) {
			require.Equal(t, w.kind, got[i], "documented order")
			require.Equal(t, w.wire, string(w.kind))
			require.Equal(t, w.channel, w.kind.Channel())
			require.Equal(t, w.target, w.kind.HasTarget())
			require.True(t, w.kind.IsInteraction())
			parsed, err := event.ParseKind(w.wire)
			require.NoError(t, err)
			require.Equal(t, w.kind, parsed)
		})
	}
	got[0] = "mutated"
	require.Equal(t, event.InAppMessageViewed, event.Interactions()[0], "Interactions returns a copy")
}

func TestNonCampaignKinds(t *testing.T) {
	for _, k := range []event.Kind{event.CustomEvent, event.Purchase, event.SessionStart} {
		require.False(t, k.IsInteraction(), k)
		require.Empty(t, k.Channel(), k)
		require.True(t, k.Valid(), k)
	}
	require.True(t, event.CustomEvent.HasName())
	require.True(t, event.Purchase.HasName())
	require.False(t, event.SessionStart.HasName())
	require.Len(t, event.Kinds(), 22)
}

func TestParseKindUnknown(t *testing.T) {
	for _, s := range []string{"", "EMAIL_OPENED", "email_opened ", "fax_received"} {
		_, err := event.ParseKind(s)
		require.ErrorIs(t, err, event.ErrUnknownKind, "%q", s)
	}
}

func TestChannels(t *testing.T) {
	require.Len(t, event.Channels(), 6)
	for _, c := range event.Channels() {
		got, err := event.ParseChannel(string(c))
		require.NoError(t, err)
		require.Equal(t, c, got)
	}
	_, err := event.ParseChannel("pigeon")
	require.ErrorIs(t, err, event.ErrUnknownChannel)
	require.EqualError(t, err, `event: unknown channel "pigeon"`, "nothing is near enough to suggest")
	// A misspelt channel gets a suggestion, as a misspelt kind does.
	for s, want := range map[string]event.Channel{"mail": event.Email, "Email": event.Email, "SMS": event.SMS, "inapp": event.InApp, "pushh": event.Push} {
		_, err := event.ParseChannel(s)
		require.ErrorIs(t, err, event.ErrUnknownChannel)
		require.EqualError(t, err, fmt.Sprintf("event: unknown channel %q (did you mean %q?)", s, want))
	}
}

// TestAMissingKindSaysSo: an event or trigger without a kind is told the
// kind is required, still wrapping ErrUnknownKind for errors.Is.
func TestAMissingKindSaysSo(t *testing.T) {
	err := event.Event{UserID: "u"}.Validate()
	require.ErrorIs(t, err, event.ErrUnknownKind)
	require.EqualError(t, err, `event: kind: required: "" is an unknown event kind`)
}

func TestValidate(t *testing.T) {
	ok := []event.Event{
		{UserID: "u", Kind: event.EmailOpened, CampaignID: "c"},
		{UserID: "u", Kind: event.EmailAliasClicked, CampaignID: "c", Target: "cta"},
		{UserID: "u", Kind: event.CustomEvent, Name: "signed_up", Properties: map[string]any{
			"plan": "pro", "seats": 3, "price": 9.5, "n": json.Number("12"), "ok": true, "none": nil,
			"tags": []any{"a", 1.0}, "nested": map[string]any{"k": []any{map[string]any{}}},
		}},
		{UserID: "u", Kind: event.Purchase},
		{UserID: "u", Kind: event.Purchase, Name: "sku-1"},
		{UserID: "u", Kind: event.SessionStart},
	}
	for _, ev := range ok {
		require.NoError(t, ev.Validate(), "%+v", ev)
	}
	bad := []struct {
		ev     event.Event
		fields []string
	}{
		{event.Event{Kind: event.EmailOpened, CampaignID: "c"}, []string{"user_id"}},
		{event.Event{UserID: "u"}, []string{"kind"}},
		{event.Event{UserID: "u", Kind: "nope"}, []string{"kind"}},
		{event.Event{UserID: "u", Kind: event.EmailOpened}, []string{"campaign_id"}},
		{event.Event{UserID: "u", Kind: event.Purchase, CampaignID: "c"}, []string{"campaign_id"}},
		{event.Event{UserID: "u", Kind: event.EmailOpened, CampaignID: "c", Target: "x", Name: "y"}, []string{"target", "name"}},
		{event.Event{UserID: "u", Kind: event.CustomEvent}, []string{"name"}},
		{event.Event{UserID: "u", Kind: event.SessionStart, Properties: map[string]any{"": 1}}, []string{"properties"}},
		{event.Event{UserID: "u", Kind: event.SessionStart, Properties: map[string]any{"c": make(chan int)}}, []string{"properties.c"}},
		{event.Event{UserID: "u", Kind: event.SessionStart, Properties: map[string]any{"f": []any{3.0, fmt.Sprint}}}, []string{"properties.f[1]"}},
		{event.Event{Kind: event.EmailOpened}, []string{"user_id", "campaign_id"}},
	}
	for _, tc := range bad {
		err := tc.ev.Validate()
		require.Error(t, err, "%+v", tc.ev)
		var fields []string
		for _, e := range unjoin(err) {
			var ve *event.ValidationError
			require.True(t, errors.As(e, &ve), "%v is a ValidationError", e)
			require.Equal(t, "event", ve.Object)
			fields = append(fields, ve.Field)
			require.True(t, strings.HasPrefix(ve.Error(), "event: "+ve.Field+": "), ve.Error())
		}
		require.ElementsMatch(t, tc.fields, fields, "%+v: %v", tc.ev, err)
	}
	require.ErrorIs(t, event.Event{UserID: "u", Kind: "x"}.Validate(), event.ErrUnknownKind)
}

func TestNaNIsRejected(t *testing.T) {
	nan := 0.0
	nan /= nan
	for _, v := range []any{nan, float32(nan)} {
		require.Error(t, event.CheckValue(v))
	}
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func TestJSONRoundTrip(t *testing.T) {
	in := `{"id":"sg-1","user_id":"u","kind":"email_alias_clicked","campaign_id":"n","target":"cta",` +
		`"properties":{"big":12345678901234567890,"price":9.99,"tags":["a",1],"ok":true},"time":"2026-03-01T12:00:00.123456789+01:00"}`
	var ev event.Event
	require.NoError(t, json.Unmarshal([]byte(in), &ev))
	require.Equal(t, event.EmailAliasClicked, ev.Kind)
	require.Equal(t, json.Number("12345678901234567890"), ev.Properties["big"], "numbers keep their digits")
	require.NoError(t, ev.Validate())
	out, err := json.Marshal(ev)
	require.NoError(t, err)
	require.JSONEq(t, in, string(out))
	var back event.Event
	require.NoError(t, json.Unmarshal(out, &back))
	require.True(t, back.Time.Equal(ev.Time))
	require.Equal(t, ev.Properties, back.Properties)

	// A zero time is omitted; an empty event ID too.
	b, err := json.Marshal(event.Event{UserID: "u", Kind: event.SessionStart})
	require.NoError(t, err)
	require.JSONEq(t, `{"user_id":"u","kind":"session_start"}`, string(b))
}

func TestJSONUnknownKind(t *testing.T) {
	var ev event.Event
	err := json.Unmarshal([]byte(`{"user_id":"u","kind":"telegram_sent"}`), &ev)
	require.ErrorIs(t, err, event.ErrUnknownKind)
	_, err = json.Marshal(event.Event{UserID: "u", Kind: "telegram_sent"})
	require.ErrorIs(t, err, event.ErrUnknownKind)
	require.Error(t, json.Unmarshal([]byte(`{"user_id":`), &ev))
	// Unknown fields are tolerated: logs written by later versions still read.
	require.NoError(t, json.Unmarshal([]byte(`{"user_id":"u","kind":"session_start","device":"ios"}`), &ev))
}

// encoding/json reads text that is not valid Unicode (bytes that are not
// UTF-8, a \u escape of half a surrogate pair) as U+FFFD: a user
// "ann\xff" or "ann\ud800" would decode as "ann\uFFFD", another user,
// and pass validation. Decoding refuses such text wherever it is.
func TestJSONWithTextThatIsNotUnicodeDoesNotDecode(t *testing.T) {
	for _, in := range []string{
		"{\"user_id\":\"ann\xff\",\"kind\":\"session_start\"}",
		`{"user_id":"ann\ud800","kind":"session_start"}`,
		`{"user_id":"ann\uDC00x","kind":"session_start"}`,
		`{"user_id":"ann\ud800\u0041","kind":"session_start"}`,
		`{"user_id":"ann","kind":"session_start","properties":{"k":["\udfff"]}}`,
		"{\"user_id\":\"ann\",\"kind\":\"session_start\",\"properties\":{\"k\xfe\":1}}",
		"{\"id\":\"\\u0000\xc0\",\"user_id\":\"ann\",\"kind\":\"session_start\"}",
		"[{\"user_id\":\"ok\",\"kind\":\"session_start\"},{\"user_id\":\"ann\xff\",\"kind\":\"session_start\"}]",
	} {
		var evs []event.Event
		var err error
		if in[0] == '[' {
			err = json.Unmarshal([]byte(in), &evs)
		} else {
			var ev event.Event
			err = json.Unmarshal([]byte(in), &ev)
		}
		require.ErrorIs(t, err, event.ErrUnstorable, "%q", in)
		require.ErrorContains(t, err, "U+FFFD", "%q", in)
	}
	// Surrogate pairs, escaped backslashes and other escapes are Unicode.
	for _, in := range []string{
		`{"user_id":"ann\ud83d\ude00","kind":"session_start"}`,
		`{"user_id":"ann\\ud800","kind":"session_start"}`,
		`{"user_id":"ann\"\\\/\u00e9","kind":"session_start","properties":{"k\u0041":"\uffff"}}`,
	} {
		var ev event.Event
		require.NoError(t, json.Unmarshal([]byte(in), &ev), "%q", in)
		require.NoError(t, ev.Validate(), "%q", in)
		require.NotContains(t, ev.UserID, "\uFFFD", "%q", in)
	}
}

func TestLimits(t *testing.T) {
	l := event.Limits{MaxIDLength: 8, MaxProperties: 2, MaxPropertyBytes: 20, MaxDepth: 2}
	require.NoError(t, l.Check(event.Event{ID: "12345678", UserID: "u", Properties: map[string]any{"a": "x", "b": []any{1}}}))
	cases := []struct {
		ev    event.Event
		field string
	}{
		{event.Event{ID: "123456789"}, "id"},
		{event.Event{UserID: "123456789"}, "user_id"},
		{event.Event{CampaignID: "123456789"}, "campaign_id"},
		{event.Event{Target: "123456789"}, "target"},
		{event.Event{Name: "123456789"}, "name"},
		{event.Event{Properties: map[string]any{"a": 1, "b": 2, "c": 3}}, "properties"},
		{event.Event{Properties: map[string]any{"a": strings.Repeat("x", 20)}}, "properties"},
		{event.Event{Properties: map[string]any{"a": []any{[]any{1}}}}, "properties"},
	}
	for _, tc := range cases {
		err := l.Check(tc.ev)
		var ve *event.ValidationError
		require.ErrorAs(t, err, &ve, "%+v", tc.ev)
		require.Equal(t, tc.field, ve.Field)
		require.ErrorIs(t, err, event.ErrTooLarge)
	}
	require.NoError(t, event.Limits{}.Check(event.Event{ID: strings.Repeat("x", 1<<16)}), "zero limits disable")
	require.Equal(t, 1+8+8, event.PropertySize([]any{"12345678", true}), "list + string + bool")
}

func TestTimeZeroMeansNow(t *testing.T) {
	require.True(t, event.Event{}.Time.IsZero())
	require.NoError(t, event.Event{UserID: "u", Kind: event.SessionStart, Time: time.Unix(0, 0)}.Validate())
}

// TestValidateReportsPropertiesInNameOrder: an event with several faulty
// properties, some of them inside objects, gets the same report every time,
// its properties (and the keys of nested objects) taken by name.
func TestValidateReportsPropertiesInNameOrder(t *testing.T) {
	ev := event.Event{UserID: "u", Kind: event.SessionStart, Properties: map[string]any{
		"d": "bad\x00", "b": json.Number("0x10"), "a": "ok", "e": []any{1, "\xff"}, "c": 1.0,
		"f": map[string]any{"z": "\x00", "y": json.Number("NaN"), "x": 1, "w": "\xfe"},
	}}
	want := ev.Validate()
	require.Error(t, want)
	for range 50 {
		require.Equal(t, want.Error(), ev.Validate().Error())
	}
	var paths []string
	for _, line := range strings.Split(want.Error(), "\n") {
		_, rest, _ := strings.Cut(line, "properties.")
		path, _, _ := strings.Cut(rest, ":")
		paths = append(paths, path)
	}
	require.Equal(t, []string{"b", "d", "e[1]", "f.w"}, paths)
	for range 50 {
		require.ErrorContains(t, event.CheckValue(ev.Properties["f"]), "w: is not valid UTF-8")
	}
}
