package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	securejoin "github.com/cyphar/filepath-securejoin"
	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	"github.com/fluxcd/pkg/kustomize"
	securefs "github.com/fluxcd/pkg/kustomize/filesys"
	ssautil "github.com/fluxcd/pkg/ssa/utils"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	kustypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/yaml"
	sigsyaml "sigs.k8s.io/yaml"
)

const (
	ownerGroup       = "kustomize.toolkit.fluxcd.io"
	originAnnotation = "config.kubernetes.io/origin"
)

type buildResult struct {
	ID      string           `json:"id"`
	Objects []map[string]any `json:"objects"`
	// Origins holds, per object, the root-relative file it was written in ("" when unknown).
	Origins []string `json:"origins,omitempty"`
	Error   string   `json:"error,omitempty"`
	// ErrorKind: path-not-found, remote-resource, outside-root, substitution, invalid-object,
	// invalid-kustomization, build.
	ErrorKind string `json:"errorKind,omitempty"`
	// UnsetVariables are variables without a value or default: kustomize-controller replaces
	// them with "" (its strict mode would fail the build instead).
	UnsetVariables []string `json:"unsetVariables,omitempty"`
	// What the build read, root-relative, for a content-addressed cache.
	Inputs     inputs  `json:"inputs"`
	DurationMs float64 `json:"durationMs"`
}

func renderKustomization(root string, req buildRequest) (result buildResult) {
	started := time.Now()
	result = buildResult{ID: req.ID, Objects: []map[string]any{}}
	rec := newRecorder(root)
	defer func() {
		if r := recover(); r != nil {
			result.Objects = []map[string]any{}
			result.Error, result.ErrorKind = fmt.Sprintf("the build failed unexpectedly: %v", r), "build"
		}
		result.Inputs = rec.inputs()
		result.DurationMs = float64(time.Since(started).Microseconds()) / 1000
		result.Error = relativeToRoot(result.Error, root)
	}()

	var ks kustomizev1.Kustomization
	u := unstructured.Unstructured{Object: req.Kustomization}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(req.Kustomization, &ks); err != nil {
		result.Error, result.ErrorKind = fmt.Sprintf("invalid Flux Kustomization: %v", err), "invalid-kustomization"
		return
	}

	// As kustomize-controller: the path is joined inside the artifact, never above it.
	dirPath, err := securejoin.SecureJoin(root, ks.Spec.Path)
	if err != nil {
		result.Error, result.ErrorKind = fmt.Sprintf("kustomization path not found: %v", err), "path-not-found"
		return
	}
	rec.probe(dirPath)
	if info, err := os.Stat(dirPath); err != nil || !info.IsDir() {
		result.Error, result.ErrorKind = fmt.Sprintf("kustomization path not found: %s", ks.Spec.Path), "path-not-found"
		return
	}

	objects, origins, unset, err := build(root, dirPath, &ks, u, req, rec)
	if err != nil {
		result.Error, result.ErrorKind = err.Error(), classify(err)
		return
	}
	result.Objects, result.UnsetVariables = objects, unset
	if req.Origins {
		result.Origins = origins
	}
	return
}

func build(root, dirPath string, ks *kustomizev1.Kustomization, u unstructured.Unstructured, req buildRequest, rec *recorder) ([]map[string]any, []string, []string, error) {
	// The flux CLI's generator: .sourceignore applies as source-controller applies it to the
	// artifact; the generator's own reads go through the secure filesystem rooted at root.
	gen := kustomize.NewGeneratorWithIgnore(root, "", u)
	manifest, kfile, action, err := gen.GenerateManifest(dirPath)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("failed to generate kustomization.yaml: %w", err)
	}
	// The generator read the kustomization (or scanned the folder for manifests) and the
	// .sourceignore files: all of the folder's names are inputs.
	rec.tree(dirPath)
	if action == kustomize.UnchangedAction {
		rec.file(kfile)
	}
	if req.Origins {
		if manifest, err = withOriginAnnotations(manifest); err != nil {
			return nil, nil, nil, fmt.Errorf("failed to generate kustomization.yaml: %w", err)
		}
	}

	diskFS, err := securefs.MakeFsOnDiskSecure(root)
	if err != nil {
		return nil, nil, nil, err
	}
	memFS := securefs.MakeFsInMemory(diskFS)
	if err := memFS.WriteFile(filepath.Join(dirPath, filepath.Base(kfile)), manifest); err != nil {
		return nil, nil, nil, err
	}
	m, err := kustomizeBuild(rec.wrap(memFS, filepath.Join(dirPath, filepath.Base(kfile))), dirPath, rec)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("kustomize build failed: %w", err)
	}

	var unset []string
	for _, res := range m.Resources() {
		if res.GetName() == "" || res.GetKind() == "" || res.GetApiVersion() == "" {
			return nil, nil, nil, invalidObjectError{fmt.Errorf("failed to decode Kubernetes apiVersion, kind and name from an object in %s", ks.Spec.Path)}
		}
		if ks.Spec.PostBuild != nil {
			missing, err := substitute(ks, u, res, req)
			if err != nil {
				return nil, nil, nil, substitutionError{fmt.Errorf("post build failed for '%s/%s': %w", res.GetGvk(), res.GetName(), err)}
			}
			unset = append(unset, missing...)
		}
		// As `flux build kustomization`: owner labels, and SOPS data masked (the controller
		// would decrypt it; the values never leave the cluster).
		if err := res.PipeE(yaml.SetLabel(ownerGroup+"/name", ks.GetName())); err != nil {
			return nil, nil, nil, err
		}
		if err := res.PipeE(yaml.SetLabel(ownerGroup+"/namespace", ks.GetNamespace())); err != nil {
			return nil, nil, nil, err
		}
		if err := maskSopsData(res); err != nil {
			return nil, nil, nil, err
		}
	}

	resources, err := m.AsYaml()
	if err != nil {
		return nil, nil, nil, fmt.Errorf("kustomize build failed: %w", err)
	}
	objects, err := ssautil.ReadObjects(bytes.NewReader(resources))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("kustomize build failed: %w", err)
	}
	if cm := ks.Spec.CommonMetadata; cm != nil {
		ssautil.SetCommonMetadata(objects, cm.Labels, cm.Annotations)
	}

	out := make([]map[string]any, 0, len(objects))
	origins := make([]string, 0, len(objects))
	for _, object := range objects {
		origin := ""
		if req.Origins {
			origin = takeOrigin(object, root, dirPath)
		}
		out = append(out, object.Object)
		origins = append(origins, origin)
	}
	slices.Sort(unset)
	return out, origins, slices.Compact(unset), nil
}

// withOriginAnnotations asks kustomize to annotate every object with the file it came from.
// The annotation is removed again (takeOrigin), so the objects stay what Flux applies.
func withOriginAnnotations(manifest []byte) ([]byte, error) {
	var kus kustypes.Kustomization
	if err := sigsyaml.Unmarshal(manifest, &kus); err != nil {
		return nil, err
	}
	if slices.Contains(kus.BuildMetadata, kustypes.OriginAnnotations) {
		return manifest, nil
	}
	kus.BuildMetadata = append(kus.BuildMetadata, kustypes.OriginAnnotations)
	return sigsyaml.Marshal(kus)
}

func takeOrigin(object *unstructured.Unstructured, root, dirPath string) string {
	annotations := object.GetAnnotations()
	raw, ok := annotations[originAnnotation]
	if !ok {
		return ""
	}
	delete(annotations, originAnnotation)
	if len(annotations) == 0 {
		unstructured.RemoveNestedField(object.Object, "metadata", "annotations")
	} else {
		object.SetAnnotations(annotations)
	}
	var origin struct {
		Path         string `json:"path"`
		ConfiguredIn string `json:"configuredIn"`
		Repo         string `json:"repo"`
	}
	if err := sigsyaml.Unmarshal([]byte(raw), &origin); err != nil || origin.Repo != "" {
		return ""
	}
	file := origin.Path
	if file == "" {
		file = origin.ConfiguredIn
	}
	if file == "" {
		return ""
	}
	rel, err := filepath.Rel(root, filepath.Join(dirPath, file))
	if err != nil || strings.HasPrefix(rel, "..") {
		return ""
	}
	return filepath.ToSlash(rel)
}

type substitutionError struct{ error }
type invalidObjectError struct{ error }

func (e substitutionError) Unwrap() error  { return e.error }
func (e invalidObjectError) Unwrap() error { return e.error }

func classify(err error) string {
	message := err.Error()
	var constraint *securefs.ConstraintError
	switch {
	case errors.As(err, &substitutionError{}):
		return "substitution"
	case errors.As(err, &invalidObjectError{}):
		return "invalid-object"
	case strings.Contains(message, remoteRefused) || strings.Contains(message, "git cloneAndCheckout") ||
		strings.Contains(message, "transport 'https' not allowed") || strings.Contains(message, "transport 'ssh' not allowed"):
		return "remote-resource"
	case errors.As(err, &constraint) || strings.Contains(message, "fs-security-constraint") || strings.Contains(message, "is not in or below"):
		return "outside-root"
	}
	return "build"
}

// relativeToRoot keeps the runner's paths out of messages: they name repository files.
func relativeToRoot(message, root string) string {
	if message == "" {
		return message
	}
	message = strings.ReplaceAll(message, root+string(filepath.Separator), "")
	return strings.ReplaceAll(message, root, ".")
}

var _ = context.Background
