package doccheck

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
	"strconv"
	"strings"
)

const module = "github.com/campaignconnector/campaignconnector"

// knownPackages are the packages a fragment may use without importing
// them, by the name it uses: the import a fragment leaves out.
var knownPackages = map[string]string{
	"clock":         "github.com/benbjohnson/clock",
	"connector":     module + "/connector",
	"connectortest": module + "/connectortest",
	"context":       "context",
	"dashboard":     module + "/dashboard",
	"errors":        "errors",
	"event":         module + "/event",
	"fmt":           "fmt",
	"http":          "net/http",
	"httptest":      "net/http/httptest",
	"io":            "io",
	"json":          "encoding/json",
	"debug":         "runtime/debug",
	"log":           "log",
	"mailgun":       module + "/webhook/mailgun",
	"mailguntest":   module + "/webhook/mailgun/mailguntest",
	"os":            "os",
	"otelconnector": module + "/otelconnector",
	"postgres":      module + "/store/postgres",
	"postmark":      module + "/webhook/postmark",
	"postmarktest":  module + "/webhook/postmark/postmarktest",
	"rule":          module + "/rule",
	"sendgrid":      module + "/webhook/sendgrid",
	"sendgridtest":  module + "/webhook/sendgrid/sendgridtest",
	"ses":           module + "/webhook/ses",
	"sestest":       module + "/webhook/ses/sestest",
	"signal":        "os/signal",
	"simulate":      module + "/simulate",
	"slog":          "log/slog",
	"sql":           "database/sql",
	"sqlite":        module + "/store/sqlite",
	"store":         module + "/store",
	"storetest":     module + "/store/storetest",
	"syscall":       "syscall",
	"testing":       "testing",
	"time":          "time",
	"twilio":        module + "/webhook/twilio",
	"twiliotest":    module + "/webhook/twilio/twiliotest",
	"url":           "net/url",
	"webhook":       module + "/webhook",
}

// prelude gives the free names of fragments their types: each is a
// package-level variable of the snippet's package, left out when the
// snippet declares that name itself. A fragment's own declarations (s, err
// := …) shadow them. The names are the docs' conventions: a newcomer
// reads them as the values of their own host.
var prelude = []struct{ name, typ string }{
	{"ctx", "context.Context"},
	{"err", "error"},
	{"engine", "*connector.Engine"},
	{"s", "store.Store"},
	{"sender", "connector.Sender"},
	{"logger", "*slog.Logger"},
	{"newsletter", "rule.Campaign"}, // the original of docs/concepts.md
	{"resend", "rule.Campaign"},     // its follow-up
	{"campaigns", "[]rule.Campaign"},
	{"events", "[]event.Event"},
	{"t", "*testing.T"},
	{"h", "*connectortest.Harness"},
	{"mux", "*http.ServeMux"},
	{"srv", "*http.Server"},
	{"password", "string"},
	{"db", "*sql.DB"},
	{"shutdown", "context.Context"}, // the contexts of a shutdown
	{"flush", "context.Context"},
	{"ran", "chan struct{}"}, // closed when Run returns
	// The host's own code, which the docs only call.
	{"mailer", "interface{ Send(ctx context.Context, to string, message json.RawMessage, key string) error }"},
	{"resp", "struct{ StatusCode int; Message string }"}, // a transport's answer
	{"alerts", "interface{ Notify(campaignID, userID, detail string) }"},
	{"spool", "interface{ Add([]event.Event) }"},
	{"zoneOf", "func(ctx context.Context, userID string) (*time.Location, error)"},
	{"inSegment", "func(ctx context.Context, userID, segment string) (bool, error)"},
	{"userByPhone", "func(ctx context.Context, phone string) (string, error)"},
	{"mystore", "interface{ New(*testing.T) store.Store }"}, // a store of your own
}

// A source is one Go file of a snippet's package.
type source struct {
	name string
	text string
}

// assemble returns the Go files that type-check sn: the snippet, wrapped
// according to its kind, with the imports it leaves out, and (but for a
// whole file) the prelude. Each part of the snippet starts with a //line
// directive, so that errors name the markdown file and line. A snippet is
//   - a whole file, when it starts with "package";
//   - an expression, such as a rule.Campaign literal;
//   - declarations, statements (the body of a function that returns an
//     error), or declarations then statements, split at a blank line;
//     leading imports are declarations;
//   - or the fields of a rule.Campaign literal.
//
// The first kind the snippet parses as wins; a snippet of none fails with
// its error as statements.
func assemble(sn Snippet) ([]source, error) {
	code := strings.Join(sn.Lines, "\n")
	at := func(line int) string { return fmt.Sprintf("\n//line %s:%d\n", sn.File, line) }
	// The file's name has no directory: the //line directives' names are
	// relative to it.
	const name = "snippet.go"
	if first, _, _ := strings.Cut(strings.TrimSpace(stripComments(code)), "\n"); strings.HasPrefix(first, "package ") {
		return []source{{name, at(sn.Line) + code}}, nil
	}
	split := func(k int) string { // declarations sn.Lines[:k], statements the rest
		return "package snippet\n" + at(sn.Line) + strings.Join(sn.Lines[:k], "\n") +
			"\nfunc _() error {" + at(sn.Line+k) + strings.Join(sn.Lines[k:], "\n") + "\nreturn nil\n}\n"
	}
	var kinds []string
	if _, err := parser.ParseExpr(code); err == nil {
		kinds = append(kinds, "package snippet\nfunc _() {\n_ ="+at(sn.Line)+code+"\n}\n")
	}
	kinds = append(kinds, split(len(sn.Lines)), split(0))
	for k, line := range sn.Lines {
		if k > 0 && strings.TrimSpace(line) == "" {
			kinds = append(kinds, split(k))
		}
	}
	kinds = append(kinds, "package snippet\nfunc _() {\n_ = rule.Campaign{"+at(sn.Line)+code+"\n}\n}\n")
	for _, text := range kinds {
		f, err := parser.ParseFile(token.NewFileSet(), name, text, parser.SkipObjectResolution)
		if err == nil {
			declared := declaredNames(f)
			return []source{
				{name, withImports(f, text, declared)},
				{"prelude.go", preludeFor(declared)},
			}, nil
		}
	}
	_, err := parser.ParseFile(token.NewFileSet(), name, split(0), parser.SkipObjectResolution)
	return nil, err
}

// stripComments drops the // comments of code's lines, so that a snippet
// that opens with a comment is still known by its first statement.
func stripComments(code string) string {
	var b strings.Builder
	for line := range strings.Lines(code) {
		if !strings.HasPrefix(strings.TrimSpace(line), "//") {
			b.WriteString(line)
		}
	}
	return b.String()
}

// declaredNames are the names f declares at package level, imports
// included.
func declaredNames(f *ast.File) map[string]bool {
	names := map[string]bool{}
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			if d.Recv == nil {
				names[d.Name.Name] = true
			}
		case *ast.GenDecl:
			for _, spec := range d.Specs {
				switch spec := spec.(type) {
				case *ast.ImportSpec:
					path, _ := strconv.Unquote(spec.Path.Value)
					name := path[strings.LastIndex(path, "/")+1:]
					if spec.Name != nil {
						name = spec.Name.Name
					}
					names[name] = true
				case *ast.TypeSpec:
					names[spec.Name.Name] = true
				case *ast.ValueSpec:
					for _, n := range spec.Names {
						names[n.Name] = true
					}
				}
			}
		}
	}
	return names
}

// withImports returns text, the source of f, with an import of each known
// package it uses by name (pkg.Name) and neither imports nor declares.
func withImports(f *ast.File, text string, declared map[string]bool) string {
	var paths []string
	ast.Inspect(f, func(n ast.Node) bool {
		if sel, ok := n.(*ast.SelectorExpr); ok {
			if x, ok := sel.X.(*ast.Ident); ok && !declared[x.Name] && knownPackages[x.Name] != "" {
				paths = append(paths, strconv.Quote(knownPackages[x.Name]))
			}
		}
		return true
	})
	if len(paths) == 0 {
		return text
	}
	slices.Sort(paths)
	pkg, rest, _ := strings.Cut(text, "\n")
	return pkg + "\nimport (\n" + strings.Join(slices.Compact(paths), "\n") + "\n)\n" + rest
}

// preludeFor is the prelude of a snippet that declares the names declared.
func preludeFor(declared map[string]bool) string {
	text := "package snippet\n"
	for _, v := range prelude {
		if !declared[v.name] {
			text += "var " + v.name + " " + v.typ + "\n"
		}
	}
	f, err := parser.ParseFile(token.NewFileSet(), "prelude.go", text, parser.SkipObjectResolution)
	if err != nil {
		panic("doccheck: the prelude does not parse: " + err.Error())
	}
	return withImports(f, text, nil)
}
