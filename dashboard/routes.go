package dashboard

import (
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
)

// routes maps the dashboard's paths, relative to where it is mounted.
// Every page sits at the top level (campaign?id=…, not campaigns/…/), so a
// relative link means the same on every page, whatever the mount point,
// and any ID, slashes included, travels as an escaped query value. Other
// methods are 405s and other paths 404s, from the ServeMux, except that a
// GET or HEAD of a path no method has gets the page of notFound.
func (h *handler) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", h.campaignsPage)
	mux.HandleFunc("GET /campaign", h.campaignPage)
	mux.HandleFunc("GET /user", h.userPage)
	mux.HandleFunc("GET /health", h.healthPage)
	mux.HandleFunc("GET /static/{name}", serveAsset)
	mux.HandleFunc("POST /action", h.action)
	// No catch-all pattern: "GET /" would turn a POST or PUT of any
	// unknown path into a 405 naming GET, and "/" a PUT of a page into a
	// 404.
	routed := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if (r.Method == http.MethodGet || r.Method == http.MethodHead) && !routedByAnyMethod(mux, r) {
			h.notFound(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
	if h.cfg.prefix == "" {
		return routed
	}
	return http.StripPrefix(h.cfg.prefix, routed)
}

// routedByAnyMethod reports whether mux has a pattern for r's path with
// r's method or with POST, the one method of its pages other than GET:
// when it has none, the mux would answer 404.
func routedByAnyMethod(mux *http.ServeMux, r *http.Request) bool {
	if _, pattern := mux.Handler(r); pattern != "" {
		return true
	}
	post := *r
	post.Method = http.MethodPost
	_, pattern := mux.Handler(&post)
	return pattern != ""
}

// pageSegments are the last segments of the dashboard's pages' paths.
var pageSegments = []string{"campaign", "user", "health", "action"}

// notFound answers a path that is no page. When the dashboard has no
// prefix and the path looks like one of its pages below a directory
// ("/ops/", "/ops/campaign"), the host most likely mounted it there
// without WithPrefix: the page says how to fix that.
func (h *handler) notFound(w http.ResponseWriter, r *http.Request) {
	msg := "No dashboard page at " + strconv.Quote(r.URL.Path) + "."
	if dir, ok := mountedAt(r.URL.Path); ok && h.cfg.prefix == "" {
		msg += " If the dashboard is mounted at " + strconv.Quote(dir+"/") + ", build it with dashboard.WithPrefix(" +
			strconv.Quote(dir) + "), or wrap it in http.StripPrefix(" + strconv.Quote(dir) + ", …)."
	}
	h.problem(w, http.StatusNotFound, msg)
}

// mountedAt returns the directory of p when p is a directory below the
// root or one of the dashboard's paths below one: "/ops" for "/ops/",
// "/ops/campaign" and "/ops/static/app.css".
func mountedAt(p string) (string, bool) {
	dir, last := path.Split(p)
	dir = strings.TrimSuffix(dir, "/")
	switch {
	case strings.HasSuffix(dir, "/static"):
		dir = strings.TrimSuffix(dir, "/static")
	case last != "" && !slices.Contains(pageSegments, last):
		return "", false
	}
	return dir, dir != ""
}

// serveAsset serves an embedded static file. A request naming the
// current version may be cached for good; any other is revalidated.
func serveAsset(w http.ResponseWriter, r *http.Request) {
	a, ok := assets[r.PathValue("name")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", a.ctype)
	w.Header().Set("Content-Length", strconv.Itoa(len(a.body)))
	w.Header().Set("ETag", `"`+a.hash+`"`)
	if r.URL.Query().Get("v") == a.hash {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	if r.Header.Get("If-None-Match") == `"`+a.hash+`"` {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if r.Method != http.MethodHead {
		_, _ = w.Write(a.body)
	}
}
