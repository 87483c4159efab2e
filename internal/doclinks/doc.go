// Package doclinks holds a test that every doc link of the published
// packages, such as [Name] or [pkg.Name], resolves: one that does not
// shows with its brackets in go doc and on pkg.go.dev, and go vet does not
// catch it.
package doclinks
