//go:build !race

package store

// How many pending deliveries the one-user test drains.
const oneUserDeliveries = 10_000
