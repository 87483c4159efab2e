// Command abrun compares two builds of the same benchmarks, interleaved:
// it runs test binary a, then b, then b, then a… (one benchmark run each,
// -count 1), for the given number of rounds, and prints, for every
// benchmark and metric, each side's median and the median of the
// per-round ratios b/a with their range. On a shared machine the two
// sides of each ratio run minutes apart at most, so the machine's slow
// spells weigh on both.
//
//	git worktree add /tmp/base main && (cd /tmp/base && go test -c -o /tmp/a.test ./store)
//	go test -c -o /tmp/b.test ./store
//	go run ./bench/abrun -a /tmp/a.test -b /tmp/b.test -bench 'MemoryCart/users=1000000$' -rounds 5
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
)

func main() {
	a := flag.String("a", "", "test binary of the baseline")
	b := flag.String("b", "", "test binary of the candidate")
	bench := flag.String("bench", ".", "benchmarks to run (-test.bench)")
	benchtime := flag.String("benchtime", "1x", "-test.benchtime of each run")
	rounds := flag.Int("rounds", 5, "rounds (one run of each side per round)")
	flag.Parse()
	if *a == "" || *b == "" {
		fmt.Fprintln(os.Stderr, "abrun: -a and -b are required")
		os.Exit(2)
	}
	// results[side][benchmark][metric] holds one value per round.
	results := [2]map[string]map[string][]float64{{}, {}}
	var order []string
	for r := range *rounds {
		sides := []int{0, 1}
		if r%2 == 1 {
			sides = []int{1, 0}
		}
		for _, side := range sides {
			bin := *a
			if side == 1 {
				bin = *b
			}
			out, err := exec.Command(bin, "-test.run", "^$", "-test.bench", *bench, "-test.benchtime", *benchtime,
				"-test.benchmem", "-test.count", "1").CombinedOutput()
			if err != nil {
				fmt.Fprintf(os.Stderr, "abrun: %s: %v\n%s", bin, err, out)
				os.Exit(1)
			}
			for name, metrics := range parse(out) {
				if results[side][name] == nil {
					results[side][name] = map[string][]float64{}
					if side == 0 || results[0][name] == nil {
						order = append(order, name)
					}
				}
				for m, v := range metrics {
					results[side][name][m] = append(results[side][name][m], v)
				}
			}
		}
		fmt.Fprintf(os.Stderr, "round %d of %d done\n", r+1, *rounds)
	}
	order = slices.Compact(order)
	for _, name := range order {
		fmt.Println(name)
		metrics := make([]string, 0, len(results[0][name]))
		for m := range results[0][name] {
			metrics = append(metrics, m)
		}
		slices.Sort(metrics)
		for _, m := range metrics {
			av, bv := results[0][name][m], results[1][name][m]
			if len(av) == 0 || len(bv) == 0 {
				continue
			}
			var ratios []float64
			for i := range min(len(av), len(bv)) {
				if av[i] != 0 {
					ratios = append(ratios, bv[i]/av[i])
				}
			}
			if len(ratios) == 0 {
				continue
			}
			slices.Sort(ratios)
			fmt.Printf("  %-14s a %12.1f  b %12.1f  b/a %.3f [%.3f–%.3f]\n", m, median(av), median(bv),
				ratios[len(ratios)/2], ratios[0], ratios[len(ratios)-1])
		}
	}
}

// parse reads benchmark result lines: name, iterations, then value-unit
// pairs.
func parse(out []byte) map[string]map[string]float64 {
	res := map[string]map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		if _, err := strconv.Atoi(f[1]); err != nil {
			continue
		}
		m := map[string]float64{}
		for i := 2; i+1 < len(f); i += 2 {
			if v, err := strconv.ParseFloat(f[i], 64); err == nil {
				m[f[i+1]] = v
			}
		}
		res[f[0]] = m
	}
	return res
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}
