// Package browsertest checks the campaignconnector dashboard in a real
// browser: headless Chromium loads every page of a dashboard served over
// engines on the memory, PostgreSQL and SQLite stores, finds no console error,
// compares the numbers shown with the engine's own, follows links, submits
// forms and saves screenshots.
//
// It is a module of its own so that the browser driver stays out of the
// library's dependencies, and it is not published: nothing imports it, it
// holds only tests. Run it from the repository root with
//
//	go test ./dashboard/browsertest/...
//
// It needs Chromium (Debian's chromium package, or CAMPAIGNCONNECTOR_CHROMIUM
// naming another binary) and, for the PostgreSQL case,
// CAMPAIGNCONNECTOR_POSTGRES_DSN; without them the tests are skipped, except
// with CI=true, where they fail. Screenshots go to the directory named by
// CAMPAIGNCONNECTOR_SCREENSHOTS, which is kept, or to a temporary one
// whose path the test prints, removed after a run in which every test
// passed.
package browsertest
