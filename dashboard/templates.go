package dashboard

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"github.com/campaignconnector/campaignconnector/internal/linetext"
	"html/template"
	"io"
	"io/fs"
	"mime"
	"path"
	"strconv"
	"strings"
	"time"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// timeLayout is how the pages write an instant.
const timeLayout = "2006-01-02 15:04:05 MST"

// pages holds one template per page, each the layout with its content.
type pages struct {
	byName map[string]*template.Template
}

// pageNames are the templates besides the layout.
var pageNames = []string{"campaigns", "campaign", "user", "health", "error"}

func parsePages(loc *time.Location) (*pages, error) {
	funcs := template.FuncMap{
		"time":        func(t time.Time) string { return formatTime(t, loc) },
		"iso":         func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"num":         thousands,
		"pct":         formatPercent,
		"asset":       assetURL,
		"words":       reasonWords,
		"kind":        kindWords,
		"event":       eventWords,
		"spark":       func(s series, title, unit string) template.HTML { return sparkline(s, title, unit, loc) },
		"human":       durationWords,
		"swatch":      swatch,
		"props":       properties,
		"detail":      func(s string) string { return detailWords(s, loc) },
		"state":       pendingState,
		"interrupted": interrupted,
		"overdue":     overdue,
	}
	layout, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("dashboard: templates: %w", err)
	}
	p := &pages{byName: map[string]*template.Template{}}
	for _, name := range pageNames {
		t, err := template.Must(layout.Clone()).ParseFS(templateFS, "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("dashboard: templates: %w", err)
		}
		p.byName[name] = t
	}
	return p, nil
}

func (p *pages) execute(w io.Writer, name string, data page) error {
	t, ok := p.byName[name]
	if !ok {
		return fmt.Errorf("dashboard: no page %q", name)
	}
	return t.ExecuteTemplate(w, "layout.html", data)
}

// maxProperties bounds how much of a trigger's properties a table shows.
const maxProperties = 240

// properties writes event properties as compact JSON, keys sorted, cut
// after maxProperties bytes; "" for none.
func properties(p map[string]any) string {
	if len(p) == 0 {
		return ""
	}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // the template escapes; \u003c would only be noise
	if err := enc.Encode(p); err != nil {
		return fmt.Sprintf("%v", p)
	}
	s := strings.TrimSpace(b.String())
	if len(s) > maxProperties {
		s = linetext.Clip(s, maxProperties) + "…"
	}
	return s
}

func formatTime(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return "—"
	}
	return t.In(loc).Format(timeLayout)
}

// thousands writes n with thin spaces between groups of three digits.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteRune('\u202f')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func formatPercent(p float64) string {
	if p < 0 {
		return "—"
	}
	return strconv.FormatFloat(p, 'f', 1, 64) + " %"
}

// asset is one embedded static file.
type asset struct {
	body  []byte
	ctype string
	hash  string // of the body: the version in its URL
}

// assets are the embedded static files by name, read once. Reading files
// compiled into the binary cannot fail; a file that did would be missing
// (404) rather than stop the program.
var assets = func() map[string]asset {
	out := map[string]asset{}
	_ = fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		out[path.Base(p)] = asset{body: body, ctype: mime.TypeByExtension(path.Ext(p)), hash: hex.EncodeToString(sum[:6])}
		return nil
	})
	return out
}()

// assetURL is the relative URL of a static file, versioned by its content
// so that browsers may cache it for good.
func assetURL(name string) string {
	return "static/" + name + "?v=" + assets[name].hash
}
