package postgres_test

import (
	"context"
	"fmt"
	"net"
	"testing"

	"github.com/campaignconnector/campaignconnector/store/postgres"
	"github.com/stretchr/testify/require"
)

// Open on a server that cannot be reached says it could not connect.
func TestOpenSaysItCouldNotConnect(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close()) // nothing listens there now
	_, err = postgres.Open(context.Background(), fmt.Sprintf("postgres://u@%s/db?sslmode=disable&connect_timeout=5", addr))
	require.Error(t, err)
	require.ErrorContains(t, err, "postgres: connecting: ")
}
