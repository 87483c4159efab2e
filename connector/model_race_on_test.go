//go:build race

package connector_test

// Under the race detector (about ten times slower) TestModel runs fewer
// scenarios by default.
const modelScenarios = 500
