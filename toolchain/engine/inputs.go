package main

import (
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// inputs is what one build looked at, root-relative: the files it read, the folders whose
// names it listed (trees: recursively), and the paths whose existence it checked. A cache
// entry is valid while all of them are unchanged.
type inputs struct {
	Files  []string `json:"files"`
	Trees  []string `json:"trees"`
	Probes []string `json:"probes"`
}

type recorder struct {
	root   string
	mu     sync.Mutex
	files  map[string]bool
	trees  map[string]bool
	probes map[string]bool
}

func newRecorder(root string) *recorder {
	return &recorder{root: root, files: map[string]bool{}, trees: map[string]bool{}, probes: map[string]bool{}}
}

func (r *recorder) add(set map[string]bool, path string) {
	rel, err := filepath.Rel(r.root, path)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") || filepath.IsAbs(rel) {
		return // outside the root: the secure filesystem refuses it, and there is nothing to track
	}
	r.mu.Lock()
	set[filepath.ToSlash(rel)] = true
	r.mu.Unlock()
}

func (r *recorder) file(path string)  { r.add(r.files, path) }
func (r *recorder) tree(path string)  { r.add(r.trees, path) }
func (r *recorder) probe(path string) { r.add(r.probes, path) }

func (r *recorder) inputs() inputs {
	r.mu.Lock()
	defer r.mu.Unlock()
	keys := func(set map[string]bool) []string {
		out := make([]string, 0, len(set))
		for k := range set {
			out = append(out, k)
		}
		slices.Sort(out)
		return out
	}
	return inputs{Files: keys(r.files), Trees: keys(r.trees), Probes: keys(r.probes)}
}

// wrap returns a filesystem that records every path the build touches. generated is the
// kustomization written in memory: its inputs are recorded by the caller.
func (r *recorder) wrap(fs filesys.FileSystem, generated string) filesys.FileSystem {
	return recordingFS{FileSystem: fs, r: r, generated: generated}
}

type recordingFS struct {
	filesys.FileSystem
	r         *recorder
	generated string
}

func (f recordingFS) note(path string) {
	if path != f.generated {
		f.r.file(path)
	}
}

func (f recordingFS) ReadFile(path string) ([]byte, error) {
	f.note(path)
	return f.FileSystem.ReadFile(path)
}

func (f recordingFS) Open(path string) (filesys.File, error) {
	f.note(path)
	return f.FileSystem.Open(path)
}

func (f recordingFS) Exists(path string) bool {
	f.r.probe(path)
	return f.FileSystem.Exists(path)
}

func (f recordingFS) IsDir(path string) bool {
	f.r.probe(path)
	return f.FileSystem.IsDir(path)
}

func (f recordingFS) ReadDir(path string) ([]string, error) {
	f.r.tree(path)
	return f.FileSystem.ReadDir(path)
}

func (f recordingFS) Walk(path string, walkFn filepath.WalkFunc) error {
	f.r.tree(path)
	return f.FileSystem.Walk(path, walkFn)
}

func (f recordingFS) Glob(pattern string) ([]string, error) {
	f.r.tree(filepath.Dir(pattern))
	return f.FileSystem.Glob(pattern)
}
