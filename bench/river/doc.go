// Package riverbench compares campaignconnector on its PostgreSQL store
// with github.com/riverqueue/river on the same database, in one
// `go test -bench` run, on the abandoned-cart flow (examples/abandoned_cart): a
// follow-up scheduled by push_received of "abandoned_cart", delayed, and
// cancelled by a purchase or a push_opened during the wait.
//
//	source .ci/postgres.sh start   # from the repository root
//	go test ./bench/river -run '^$' -bench . -benchmem
//
// It is a module of its own, so that the library never depends on River.
// The results and how to read them are in store/postgres's benchmark notes;
// bench_test.go says how each side runs the workload.
package riverbench
