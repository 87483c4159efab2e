package postgres

import (
	"context"
	"crypto/tls"
	"net"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// ShouldPing is the check [Open] gives its pool ([pgxpool.Config.ShouldPing])
// for each connection the pool is about to hand out: it asks for a ping
// (and the pool drops the connection if the ping fails) when the
// connection has been idle for more than a second, as pgxpool does by
// default, or when the server has sent something on it since its last
// use, which on an idle connection means the server ended the session
// (a restart, a failover, pg_terminate_backend) or closed the socket. The
// second test is a non-blocking look at the socket, without a round trip,
// so that a connection that died a moment ago fails no call while a live
// one costs no ping. On systems where the socket cannot be looked at, only
// the first test applies.
//
// Set it on a pool of your own before passing the pool to [New]:
//
//	cfg, err := pgxpool.ParseConfig(dsn)
//	…
//	cfg.ShouldPing = postgres.ShouldPing
//	pool, err := pgxpool.NewWithConfig(ctx, cfg)
func ShouldPing(_ context.Context, p pgxpool.ShouldPingParams) bool {
	return p.IdleDuration > time.Second || hasInput(p.Conn.PgConn().Conn())
}

// hasInput reports whether c has something to read, its end of stream
// included, without reading it and without waiting.
func hasInput(c net.Conn) bool {
	if t, ok := c.(*tls.Conn); ok {
		c = t.NetConn() // a record or a close, encrypted or not, is input
	}
	return peek(c)
}
