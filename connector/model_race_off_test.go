//go:build !race

package connector_test

// How many scenarios TestModel runs by default (-model.n changes it).
const modelScenarios = 2000
