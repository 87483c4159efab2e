package summary

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSummary(t *testing.T) {
	require.Equal(t, 2.0, Median([]float64{3, 1, 2}))
	require.Equal(t, 2.5, Median([]float64{4, 1, 3, 2}))
	require.Equal(t, 0.0, Median(nil))
	require.Equal(t, "2 [1–3]", Spread([]float64{3, 1, 2}))
	require.Equal(t, "2.0 [1.0–3.0]", Spread1([]float64{3, 1, 2}))
	require.Equal(t, "2.00x [1.00–3.00]", Ratio([]float64{2, 6, 4}, []float64{2, 2, 2}))
	for _, got := range []string{Spread(nil), Spread1(nil), Ratio(nil, nil), Ratio([]float64{1}, []float64{1, 2})} {
		require.Equal(t, "-", got)
	}
}
