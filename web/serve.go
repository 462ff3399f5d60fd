package web

import (
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

//go:embed static
var static embed.FS

// Handler serves the page at / and the export folder dir under /export/,
// where the page looks for manifest.json. Names starting with a dot (the
// temporary files of an export in progress) are not served, and nothing
// is cached, so that a page reloaded after a new export runs the new one.
func Handler(dir string) http.Handler {
	page, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embedded folder is part of the binary
	}
	mux := http.NewServeMux()
	mux.Handle("/", noStore(http.FileServerFS(page)))
	mux.Handle("/export/", http.StripPrefix("/export", noStore(noDotFiles(http.FileServer(http.Dir(dir))))))
	return mux
}

func noStore(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		h.ServeHTTP(w, r)
	})
}

func noDotFiles(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, part := range strings.Split(path.Clean("/"+r.URL.Path), "/") {
			if strings.HasPrefix(part, ".") {
				http.NotFound(w, r)
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}
