package store_test

import (
	"strings"
	"testing"

	"github.com/campaignconnector/campaignconnector/store"
	"github.com/stretchr/testify/require"
)

// TestValidateNamespace: a namespace is at most 128 bytes of text every
// store keeps.
func TestValidateNamespace(t *testing.T) {
	for _, ns := range []string{"", "tenant-a", "ünï 🙂", strings.Repeat("x", 128)} {
		require.NoError(t, store.ValidateNamespace(ns), "%q", ns)
	}
	for _, ns := range []string{strings.Repeat("x", 129), "tenant\x00a", "\x00", "tenant\xff", "caf\xc3"} {
		err := store.ValidateNamespace(ns)
		require.Error(t, err, "%q", ns)
		require.True(t, strings.HasPrefix(err.Error(), "store: namespace "), err.Error())
	}
}
