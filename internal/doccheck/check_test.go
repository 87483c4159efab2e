package doccheck

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// fixture reads and extracts the snippets of testdata/name.
func fixture(t *testing.T, name string) (string, []Snippet) {
	t.Helper()
	file := "testdata/" + name
	md, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	snippets, err := Extract(file, md)
	if err != nil {
		t.Fatal(err)
	}
	return string(md), snippets
}

func TestCheckAcceptsFine(t *testing.T) {
	md, snippets := fixture(t, "fine.md")
	res := check(t, filepath.Join("..", ".."), snippets)
	for _, p := range res.Problems {
		t.Error(p)
	}
	blocks := strings.Count(md, "```go")
	if res.Checked != blocks-1 || len(res.NotCompiled) != 1 {
		t.Errorf("%d checked and %d not compiled, want %d and 1", res.Checked, len(res.NotCompiled), blocks-1)
	}
}

// TestCheckReportsBroken checks that each snippet's error is reported at
// its markdown line: the lines that end in "// wrong".
func TestCheckReportsBroken(t *testing.T) {
	md, snippets := fixture(t, "broken.md")
	var want []string
	for i, line := range strings.Split(md, "\n") {
		if strings.HasSuffix(line, "// wrong") {
			want = append(want, fmt.Sprintf("testdata/broken.md:%d", i+1))
		}
	}
	res := check(t, filepath.Join("..", ".."), snippets)
	var got []string
	for _, p := range res.Problems {
		t.Log(p)
		pos, _, _ := strings.Cut(p.Error(), ": ")
		if file, line, ok := strings.Cut(pos, ":"); ok {
			line, _, _ = strings.Cut(line, ":") // the column
			pos = file + ":" + line
		}
		got = append(got, pos)
	}
	if !slices.Equal(got, want) {
		t.Errorf("problems at %q, want %q", got, want)
	}
	if !slices.ContainsFunc(res.Problems, func(err error) bool { return strings.Contains(err.Error(), "Tock") }) {
		t.Error("no problem names the wrong method Tock")
	}
}

func TestExtractRejects(t *testing.T) {
	for _, md := range []string{
		"```go\nengine.Tick(ctx)\n",                            // a block that never ends
		"<!-- not compiled: -->\n```go\nx\n```\n",              // no reason
		"<!-- not compiled: pseudo-code -->\ntext\n```go\n```", // not right before a block
		"<!-- not compiled: pseudo-code -->\n```sh\nls\n```",   // before a block of another language
	} {
		if _, err := Extract("x.md", []byte(md)); err == nil {
			t.Errorf("Extract(%q) accepted it", md)
		}
	}
}
