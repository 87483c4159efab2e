package main

import (
	"context"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/campaignconnector/campaignconnector/bench/internal/cputime"
	"github.com/jackc/pgx/v5"
)

// cost is what one phase took: elapsed time, CPU time (this process's and
// the server's), the process's allocations, and what it sent to the
// server.
type cost struct {
	elapsed, selfCPU, serverCPU time.Duration
	allocs, bytes               uint64
	roundTrips, statements      int64

	m0         runtime.MemStats
	rt0, st0   int64
	self0, sv0 time.Duration
	start      time.Time
}

// pgData is the data directory of the server, when its CPU time is
// counted (-pgdata).
var pgData string

func (c *cost) begin() {
	runtime.ReadMemStats(&c.m0)
	c.rt0, c.st0 = counter.roundTrips.Load(), counter.statements.Load()
	c.self0, c.sv0 = cputime.Self(), cputime.Server(pgData)
	c.start = time.Now()
}

func (c *cost) end() {
	c.elapsed = time.Since(c.start)
	c.selfCPU, c.serverCPU = cputime.Self()-c.self0, cputime.Server(pgData)-c.sv0
	var m1 runtime.MemStats
	runtime.ReadMemStats(&m1)
	c.allocs, c.bytes = m1.Mallocs-c.m0.Mallocs, m1.TotalAlloc-c.m0.TotalAlloc
	c.roundTrips, c.statements = counter.roundTrips.Load()-c.rt0, counter.statements.Load()-c.st0
}

// per is a phase's cost per item (event or delivery).
type per struct {
	rate                   float64 // items per second of elapsed time
	selfUS, serverUS       float64 // CPU µs per item
	roundTrips, statements float64
	allocs, bytes          float64
}

func (c *cost) per(n int) per {
	f := float64(n)
	return per{
		rate:   f / c.elapsed.Seconds(),
		selfUS: float64(c.selfCPU.Microseconds()) / f, serverUS: float64(c.serverCPU.Microseconds()) / f,
		roundTrips: float64(c.roundTrips) / f, statements: float64(c.statements) / f,
		allocs: float64(c.allocs) / f, bytes: float64(c.bytes) / f,
	}
}

// cpuUS is the CPU time of both processes per item.
func (p per) cpuUS() float64 { return p.selfUS + p.serverUS }

// queryCounter counts round trips (queries, and batches as one) and
// statements sent through the benchmark's pools.
type queryCounter struct {
	roundTrips, statements atomic.Int64
}

var counter queryCounter

func (c *queryCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.roundTrips.Add(1)
	c.statements.Add(1)
	return ctx
}

func (c *queryCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (c *queryCounter) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	c.roundTrips.Add(1)
	return ctx
}

func (c *queryCounter) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {
	c.statements.Add(1)
}

func (c *queryCounter) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}
