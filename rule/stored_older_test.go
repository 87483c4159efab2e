package rule_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"testing"

	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/stretchr/testify/require"
)

// Definitions the release before the strict decoding of triggers,
// exceptions and conditions (and before the duplicate-key check) stored,
// one a line, as its stores wrote them (json.Marshal of the campaign):
// every one still loads, strictly and as stored, to the same campaign,
// during a rolling upgrade as after it. They cover the example campaigns,
// the fuzz seeds, and a campaign with every field set whose conditions
// hold numbers of several Go types and a value and a message with keys
// written twice.
func TestDefinitionsAnOlderReleaseStoredStillLoad(t *testing.T) {
	f, err := os.Open("testdata/stored/older.jsonl")
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	n := 0
	for sc.Scan() {
		line := bytes.Clone(sc.Bytes())
		n++
		stored, err := rule.DecodeStoredCampaign(line)
		require.NoError(t, err, "%s", line)
		var strict rule.Campaign
		require.NoError(t, json.Unmarshal(line, &strict), "%s", line)
		require.Equal(t, strict, stored, "%s", line)
		again, err := json.Marshal(stored)
		require.NoError(t, err)
		back, err := rule.DecodeStoredCampaign(again)
		require.NoError(t, err, "%s", again)
		require.Equal(t, stored, back, "%s", again)
	}
	require.NoError(t, sc.Err())
	require.Equal(t, 20, n)
}
