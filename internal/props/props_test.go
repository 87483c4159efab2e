package props

import (
	"reflect"
	"testing"
)

func TestCloneCopiesNestedValues(t *testing.T) {
	if Clone(nil) != nil || Clone(map[string]any{}) != nil {
		t.Error("an empty map should clone to nil")
	}
	orig := map[string]any{"plan": "pro", "n": 3.5, "cart": map[string]any{"sku": "A1", "tags": []any{"x", map[string]any{"k": "v"}}}}
	want := map[string]any{"plan": "pro", "n": 3.5, "cart": map[string]any{"sku": "A1", "tags": []any{"x", map[string]any{"k": "v"}}}}
	c := Clone(orig)
	if !reflect.DeepEqual(c, orig) {
		t.Fatalf("Clone = %v, want %v", c, orig)
	}
	c["plan"] = "free"
	cart := c["cart"].(map[string]any)
	cart["sku"] = "B2"
	tags := cart["tags"].([]any)
	tags[0] = "y"
	tags[1].(map[string]any)["k"] = "w"
	if !reflect.DeepEqual(orig, want) {
		t.Errorf("changing the clone changed the original: %v", orig)
	}
}
