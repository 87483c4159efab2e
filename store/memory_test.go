package store_test

import (
	"testing"

	"github.com/campaignconnector/campaignconnector/store"
	"github.com/campaignconnector/campaignconnector/store/storetest"
)

func TestMemoryConformance(t *testing.T) {
	storetest.Run(t, func(*testing.T) store.Store { return store.NewMemory() })
}

// The zero Memory is a ready store, as NewMemory's.
func TestZeroMemoryConformance(t *testing.T) {
	storetest.Run(t, func(*testing.T) store.Store { return new(store.Memory) })
}
