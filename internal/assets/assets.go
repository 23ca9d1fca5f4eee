// Package assets serves static files — embedded in the binary, or from a
// folder during development — under URLs that carry a hash of their
// content, so that browsers may keep them for a year and still never use a
// stale one.
package assets

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"slices"
)

// Set is the files of one folder, each with its content hash.
type Set struct {
	files  fs.FS
	prefix string            // URL prefix, such as "/static/"
	hashes map[string]string // file name -> content hash
}

// New indexes every file of files, to be served under prefix.
func New(files fs.FS, prefix string) (*Set, error) {
	s := &Set{files: files, prefix: prefix, hashes: map[string]string{}}
	err := fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(files, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		s.hashes[p] = hex.EncodeToString(sum[:6])
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("assets: %w", err)
	}
	return s, nil
}

// Has reports whether name is in the set.
func (s *Set) Has(name string) bool { _, ok := s.hashes[name]; return ok }

// URL returns the content-hashed URL of name.
func (s *Set) URL(name string) string { return s.prefix + s.hashes[name] + "/" + name }

// Names lists the files, sorted.
func (s *Set) Names() []string {
	names := make([]string, 0, len(s.hashes))
	for n := range s.hashes {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Hash returns the content hash of name.
func (s *Set) Hash(name string) string { return s.hashes[name] }

// Serve answers a request routed as prefix + "{hash}/{name...}". A hash that
// is not the file's current one is not found, so an old URL is never
// answered with new content under a year-long cache.
func (s *Set) Serve(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if hash, ok := s.hashes[name]; !ok || hash != r.PathValue("hash") {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	http.ServeFileFS(w, r, s.files, name)
}
