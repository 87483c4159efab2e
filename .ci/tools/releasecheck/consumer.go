package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"text/template"

	"campaignconnector/ci/tools/internal/repo"
)

// library is a published module and the packages a consumer can import.
type library struct {
	Module   string
	Packages []string
}

// consume builds and runs, in dir, a program of its own module that requires
// every published module at version and imports each library package. The
// program fails unless its build links each module that has a library
// package at that version, unreplaced. consume returns what it printed.
func consume(dir string, env []string, goVersion string, libs []library, version string) (string, error) {
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return "", err
	}
	var gomod, main bytes.Buffer
	data := struct {
		Go      string
		Version string
		Libs    []library
	}{goVersion, version, libs}
	if err := goModTemplate.Execute(&gomod, data); err != nil {
		return "", err
	}
	if err := mainTemplate.Execute(&main, data); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), gomod.Bytes(), 0o666); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), main.Bytes(), 0o666); err != nil {
		return "", err
	}
	if _, err := repo.Command(dir, env, "go", "mod", "tidy"); err != nil {
		return "", err
	}
	if _, err := repo.Command(dir, env, "go", "build", "-o", "consumer", "."); err != nil {
		return "", err
	}
	return repo.Command(dir, env, filepath.Join(dir, "consumer"))
}

var funcs = template.FuncMap{"quote": strconv.Quote}

var goModTemplate = template.Must(template.New("go.mod").Parse(`module example.com/consumer

go {{.Go}}

require (
{{- range .Libs}}
	{{.Module}} {{$.Version}}
{{- end}}
)
`))

var mainTemplate = template.Must(template.New("main.go").Funcs(funcs).Parse(`// Command consumer imports every library package of the published modules
// and checks which versions its build links.
package main

import (
	"fmt"
	"os"
	"runtime/debug"
{{range .Libs}}{{range .Packages}}
	_ {{quote .}}{{end}}{{end}}
)

// want maps each module with a library package to the version its build
// must link.
var want = map[string]string{
{{- range .Libs}}{{if .Packages}}
	{{quote .Module}}: {{quote $.Version}},{{end}}{{end}}
}

func main() {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		fmt.Fprintln(os.Stderr, "consumer: no build information")
		os.Exit(1)
	}
	failed := false
	for _, d := range info.Deps {
		v, ok := want[d.Path]
		if !ok {
			continue
		}
		delete(want, d.Path)
		switch {
		case d.Replace != nil:
			fmt.Fprintf(os.Stderr, "consumer: %s %s is replaced by %s %s\n", d.Path, d.Version, d.Replace.Path, d.Replace.Version)
			failed = true
		case d.Version != v:
			fmt.Fprintf(os.Stderr, "consumer: links %s %s, want %s\n", d.Path, d.Version, v)
			failed = true
		default:
			fmt.Printf("consumer: links %s %s %s\n", d.Path, d.Version, d.Sum)
		}
	}
	for path := range want {
		fmt.Fprintf(os.Stderr, "consumer: does not link %s\n", path)
		failed = true
	}
	if failed {
		os.Exit(1)
	}
}
`))
