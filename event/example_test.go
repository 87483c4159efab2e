package event_test

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/campaignconnector/campaignconnector/event"
)

func ExampleParseKind() {
	k, err := event.ParseKind("email_opened")
	fmt.Println(k, k.Channel(), k.IsInteraction(), err)
	_, err = event.ParseKind("email_openned")
	fmt.Println(errors.Is(err, event.ErrUnknownKind))
	// Output:
	// email_opened email true <nil>
	// true
}

func ExampleEvent_Validate() {
	err := event.Event{UserID: "ann", Kind: event.EmailOpened}.Validate()
	var ve *event.ValidationError
	if errors.As(err, &ve) {
		fmt.Println(ve.Field, "-", ve.Reason)
	}
	// Output:
	// campaign_id - required for email_opened
}

func ExampleEvent_UnmarshalJSON() {
	var ev event.Event
	_ = json.Unmarshal([]byte(`{"id":"sg-1","user_id":"ann","kind":"purchase","name":"sku-42",
		"properties":{"price":19.99},"time":"2026-03-02T10:00:00Z"}`), &ev)
	fmt.Println(ev.Kind, ev.Name, ev.Properties["price"], ev.Time.Format("Jan 2 15:04"), ev.Validate())
	// Output:
	// purchase sku-42 19.99 Mar 2 10:00 <nil>
}
