package doccheck

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestDocs type-checks every ```go block of README.md and docs/*.md
// against the code of this workspace.
func TestDocs(t *testing.T) {
	root := filepath.Join("..", "..")
	names, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	names = append([]string{filepath.Join(root, "README.md")}, names...)
	var snippets []Snippet
	for _, name := range names {
		md, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		rel, err := filepath.Rel(root, name)
		if err != nil {
			t.Fatal(err)
		}
		sn, err := Extract(filepath.ToSlash(rel), md)
		if err != nil {
			t.Fatal(err)
		}
		snippets = append(snippets, sn...)
	}
	res := check(t, root, snippets)
	for _, p := range res.Problems {
		t.Error(p)
	}
	t.Logf("%d snippets type-checked, %d not compiled", res.Checked, len(res.NotCompiled))
	for _, sn := range res.NotCompiled {
		t.Logf("not compiled: %s:%d: %s", sn.File, sn.Line, sn.NotCompiled)
	}
	if res.Checked == 0 {
		t.Error("no snippet type-checked")
	}
}

// check runs Check with the go command that runs the test (go test puts
// its GOROOT/bin first in PATH). Without one, the test is skipped, except
// on CI (CI set), where it fails. It stats the files of the packages
// checked against, so that go test's cache of the result ends when one
// changes.
func check(t *testing.T, dir string, snippets []Snippet) Result {
	t.Helper()
	goCmd, err := exec.LookPath("go")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("no go command on CI: %v", err)
		}
		t.Skipf("no go command: %v", err)
	}
	res, err := Check(goCmd, dir, snippets)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range res.Files {
		if _, err := os.Stat(f); err != nil {
			t.Fatal(err)
		}
	}
	return res
}
