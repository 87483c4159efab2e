package dashboard

import (
	"net/http"
	"strconv"
)

// routes maps the dashboard's paths, relative to where it is mounted.
// Every page sits at the top level (campaign?id=…, not campaigns/…/), so a
// relative link means the same on every page, whatever the mount point,
// and any ID, slashes included, travels as an escaped query value. Other
// paths are 404s and other methods 405s, from the ServeMux.
func (h *handler) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", h.campaignsPage)
	mux.HandleFunc("GET /campaign", h.campaignPage)
	mux.HandleFunc("GET /user", h.userPage)
	mux.HandleFunc("GET /health", h.healthPage)
	mux.HandleFunc("GET /static/{name}", serveAsset)
	mux.HandleFunc("POST /action", h.action)
	if h.cfg.prefix == "" {
		return mux
	}
	return http.StripPrefix(h.cfg.prefix, mux)
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
