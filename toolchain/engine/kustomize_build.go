package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sync"

	"github.com/fluxcd/pkg/kustomize"
	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resmap"
	kustypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// buildMutex serializes the builds of this process: kustomize keeps global state (its OpenAPI
// schema), which is why fluxcd/pkg/kustomize locks around its own Build too.
var buildMutex sync.Mutex

var openAPIField = regexp.MustCompile(`(?m)^openapi:`)

// kustomizeBuild is fluxcd/pkg/kustomize's Build with its options (no load restrictor, builtin
// plugins only, panics recovered), without re-parsing Kubernetes' OpenAPI schema on every build.
// That reset is three quarters of Build's time, and exists only so that a kustomization's
// `openapi:` field cannot leak into the next build: such a build, and any build that fails, is
// built again by Flux's own Build, which resets the schema before and after. The fidelity tests
// compare both against flux build kustomization.
func kustomizeBuild(fs filesys.FileSystem, dirPath string, rec *recorder) (resmap.ResMap, error) {
	buildMutex.Lock()
	defer buildMutex.Unlock()
	m, err := buildKeepingSchema(fs, dirPath)
	if err == nil && !rec.usesOpenAPIField() {
		return m, nil
	}
	return kustomize.Build(fs, dirPath)
}

func buildKeepingSchema(fs filesys.FileSystem, dirPath string) (m resmap.ResMap, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("recovered from kustomize build panic: %v", r)
		}
	}()
	options := &krusty.Options{
		LoadRestrictions: kustypes.LoadRestrictionsNone,
		PluginConfig:     kustypes.DisabledPluginConfig(),
	}
	return krusty.MakeKustomizer(options).Run(fs, dirPath)
}

// usesOpenAPIField reports whether a kustomization the build read sets `openapi:`.
func (r *recorder) usesOpenAPIField() bool {
	names := map[string]bool{}
	for _, name := range konfig.RecognizedKustomizationFileNames() {
		names[name] = true
	}
	for _, file := range r.inputs().Files {
		if !names[filepath.Base(file)] {
			continue
		}
		data, err := os.ReadFile(filepath.Join(r.root, file))
		if err == nil && openAPIField.Match(data) {
			return true
		}
	}
	return false
}
