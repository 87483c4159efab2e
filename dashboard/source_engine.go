package dashboard

import (
	"context"
	"fmt"
	"reflect"
	"time"

	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// Tallies implements source with the engine's Tallies method, found by name
// so that the dashboard builds against engines with and without it.
func (s engineSource) Tallies(ctx context.Context, q tallyQuery) ([]tally, error) {
	out, err := callQuery(ctx, s.Engine, "Tallies", map[string]any{
		"Since": q.Since, "Until": q.Until, "CampaignID": q.CampaignID,
	})
	if err != nil {
		return nil, wrapMissing(err, errNoTallies)
	}
	tallies := make([]tally, out.Len())
	for i := range tallies {
		v := out.Index(i)
		tallies[i] = tally{
			Hour:       field[time.Time](v, "Hour"),
			CampaignID: field[string](v, "CampaignID"),
			Kind:       rule.DecisionKind(v.FieldByName("Kind").String()),
			Reason:     rule.Reason(v.FieldByName("Reason").String()),
			Rule:       field[string](v, "Rule"),
			Count:      v.FieldByName("Count").Int(),
		}
	}
	return tallies, nil
}

// Pending implements source with the engine's PendingDeliveries method.
func (s engineSource) Pending(ctx context.Context, q pendingQuery) ([]store.Claim, error) {
	out, err := callQuery(ctx, s.Engine, "PendingDeliveries", map[string]any{
		"CampaignID": q.CampaignID, "AfterDue": q.AfterDue, "AfterID": q.AfterID, "Limit": q.Limit,
	})
	if err != nil {
		return nil, wrapMissing(err, errNoPendingList)
	}
	claims, _ := out.Interface().([]store.Claim)
	return claims, nil
}

// errMissingMethod reports an engine without the method asked for.
type errMissingMethod string

func (e errMissingMethod) Error() string { return "dashboard: the engine has no method " + string(e) }

func wrapMissing(err, missing error) error {
	if _, ok := err.(errMissingMethod); ok {
		return fmt.Errorf("%w (%w)", missing, err)
	}
	return err
}

// callQuery calls recv.name(ctx, q) where q is a struct whose fields are
// set from fields, and returns the slice it answers.
func callQuery(ctx context.Context, recv any, name string, fields map[string]any) (reflect.Value, error) {
	m := reflect.ValueOf(recv).MethodByName(name)
	if !m.IsValid() || m.Type().NumIn() != 2 || m.Type().NumOut() != 2 {
		return reflect.Value{}, errMissingMethod(name)
	}
	q := reflect.New(m.Type().In(1)).Elem()
	for k, v := range fields {
		f := q.FieldByName(k)
		if !f.IsValid() || !f.CanSet() {
			return reflect.Value{}, errMissingMethod(name + " with field " + k)
		}
		f.Set(reflect.ValueOf(v).Convert(f.Type()))
	}
	res := m.Call([]reflect.Value{reflect.ValueOf(ctx), q})
	if err, _ := res[1].Interface().(error); err != nil {
		return reflect.Value{}, err
	}
	return res[0], nil
}

func field[T any](v reflect.Value, name string) T {
	t, _ := v.FieldByName(name).Interface().(T)
	return t
}
