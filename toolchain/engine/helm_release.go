package main

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	v2 "github.com/fluxcd/helm-controller/api/v2"
	"github.com/fluxcd/pkg/chartutil"
	"github.com/go-logr/logr"
	"helm.sh/helm/v4/pkg/chart/common"
	"k8s.io/apimachinery/pkg/runtime"
)

// releaseRequest asks for one HelmRelease rendered as helm-controller would install it.
type releaseRequest struct {
	ID string `json:"id"`
	// HelmRelease as the cluster would hold it (after its Kustomization's build).
	HelmRelease map[string]any `json:"helmRelease"`
	// Sources: the HelmRepositories, GitRepositories, OCIRepositories and HelmCharts the cluster holds.
	Sources []map[string]any `json:"sources,omitempty"`
	// Objects: the ConfigMaps and Secrets the cluster holds, for valuesFrom and secretRef.
	Objects []map[string]any `json:"objects,omitempty"`
	// LocalGitRepositories: "namespace/name" of the GitRepositories whose artifact is the request's root.
	LocalGitRepositories []string `json:"localGitRepositories,omitempty"`
	// KubeVersion is .Capabilities.KubeVersion; APIVersions are added to the default API versions.
	KubeVersion string   `json:"kubeVersion,omitempty"`
	APIVersions []string `json:"apiVersions,omitempty"`
}

type releaseResult struct {
	ID      string           `json:"id"`
	Objects []map[string]any `json:"objects"`
	// Error and ErrorKind: invalid-release, source-not-found, source-unsupported, fetch, offline-miss,
	// chart-load, outside-root, values-reference, values-schema, template.
	Error     string `json:"error,omitempty"`
	ErrorKind string `json:"errorKind,omitempty"`
	// SchemaErrors: for values-schema, each violation with the values layer that set its path.
	SchemaErrors []schemaError `json:"schemaErrors,omitempty"`
	Chart        *chartInfo    `json:"chart,omitempty"`
	ReleaseName  string        `json:"releaseName,omitempty"`
	Namespace    string        `json:"namespace,omitempty"`
	// SecretValues: string values that came from Secrets (valuesFrom), for the caller's redaction.
	SecretValues []string `json:"secretValues,omitempty"`
	// Values are the merged values given to the chart (the oracle renders `helm template` with them).
	Values     map[string]any `json:"values,omitempty"`
	Inputs     inputs         `json:"inputs"`
	DurationMs float64        `json:"durationMs"`
}

type chartInfo struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	// Source: the repository URL, or the chart's root-relative path.
	Source string `json:"source"`
	Digest string `json:"digest,omitempty"`
	// CRDs: the chart's crds/ (with its subcharts'), emitted per the install CRD policy.
	CRDs int `json:"crds"`
}

type schemaError struct {
	Path    string       `json:"path"`
	Message string       `json:"message"`
	From    valuesOrigin `json:"from"`
}

// valuesOrigin names the layer of the merge that set a value: the chart's defaults, one of its
// valuesFiles, one valuesFrom reference, or spec.values.
type valuesOrigin struct {
	Kind string `json:"kind"` // chart, valuesFile, valuesFrom, values
	File string `json:"file,omitempty"`
	Ref  string `json:"ref,omitempty"` // ConfigMap/name key=values.yaml
}

type releaseError struct {
	kind string
	err  error
}

func (e releaseError) Error() string { return e.err.Error() }
func (e releaseError) Unwrap() error { return e.err }

func failed(kind string, format string, args ...any) error {
	return releaseError{kind: kind, err: fmt.Errorf(format, args...)}
}

func renderHelmRelease(root string, charts *chartStore, req releaseRequest) (result releaseResult) {
	started := time.Now()
	result = releaseResult{ID: req.ID, Objects: []map[string]any{}}
	rec := newRecorder(root)
	defer func() {
		if r := recover(); r != nil {
			result.Objects = []map[string]any{}
			result.Error, result.ErrorKind = fmt.Sprintf("the render failed unexpectedly: %v", r), "template"
		}
		result.Inputs = rec.inputs()
		result.DurationMs = float64(time.Since(started).Microseconds()) / 1000
		result.Error = relativeToRoot(result.Error, root)
	}()
	err := render(root, charts, req, rec, &result)
	if err != nil {
		result.Objects = []map[string]any{}
		result.Error = err.Error()
		var re releaseError
		if errors.As(err, &re) {
			result.ErrorKind = re.kind
		} else {
			result.ErrorKind = "template"
		}
	}
	return
}

// resolveHelmRelease resolves the release's chart only: its name, version, source and digest.
func resolveHelmRelease(root string, charts *chartStore, req releaseRequest) (result releaseResult) {
	started := time.Now()
	result = releaseResult{ID: req.ID, Objects: []map[string]any{}}
	rec := newRecorder(root)
	defer func() {
		if r := recover(); r != nil {
			result.Error, result.ErrorKind = fmt.Sprintf("the chart could not be resolved: %v", r), "chart-load"
		}
		result.Inputs = rec.inputs()
		result.DurationMs = float64(time.Since(started).Microseconds()) / 1000
		result.Error = relativeToRoot(result.Error, root)
	}()
	var hr v2.HelmRelease
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(req.HelmRelease, &hr); err != nil {
		result.Error, result.ErrorKind = fmt.Sprintf("invalid HelmRelease: %v", err), "invalid-release"
		return
	}
	resolved, err := charts.resolve(root, &hr, req, rec)
	if err != nil {
		result.Error, result.ErrorKind = err.Error(), "template"
		var re releaseError
		if errors.As(err, &re) {
			result.ErrorKind = re.kind
		}
		return
	}
	result.Chart = &resolved.info
	return
}

func render(root string, charts *chartStore, req releaseRequest, rec *recorder, result *releaseResult) error {
	var hr v2.HelmRelease
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(req.HelmRelease, &hr); err != nil {
		return failed("invalid-release", "invalid HelmRelease: %v", err)
	}
	result.ReleaseName = shortenName(hr.GetReleaseName())
	result.Namespace = hr.GetReleaseNamespace()

	resolved, err := charts.resolve(root, &hr, req, rec)
	if err != nil {
		return err
	}
	result.Chart = &resolved.info
	chrt := resolved.chart

	kubeClient, err := clientOver(req.Objects)
	if err != nil {
		return failed("values-reference", "%v", err)
	}
	ctx := context.Background()
	values, err := chartutil.ChartValuesFromReferences(ctx, logr.Discard(), kubeClient, hr.Namespace, hr.GetValues(), hr.Spec.ValuesFrom...)
	if err != nil {
		return failed("values-reference", "could not resolve values reference: %v", err)
	}
	result.SecretValues = secretValuesOf(ctx, kubeClient, &hr)
	result.Values = values

	objects, err := templateRelease(&hr, chrt, values, req)
	if err != nil {
		message := err.Error()
		if strings.Contains(message, schemaErrorPrefix) {
			result.SchemaErrors = attributeSchemaErrors(ctx, message, kubeClient, &hr, resolved)
			return failed("values-schema", "%s", message)
		}
		return failed("template", "%s", message)
	}
	result.Chart.CRDs = countCRDs(objects)
	result.Objects = objects
	return nil
}

const schemaErrorPrefix = "values don't meet the specifications of the schema"

var schemaPath = regexp.MustCompile(`at '([^']*)': (.*)`)

// attributeSchemaErrors names, for each violation, the last layer of the merge that set its path
// (helm-controller merges valuesFrom in order, then spec.values; the chart's values, or the
// valuesFiles that replace them, lie under all of them).
func attributeSchemaErrors(ctx context.Context, message string, kubeClient clientReader, hr *v2.HelmRelease, resolved *resolvedChart) []schemaError {
	var out []schemaError
	chartName := resolved.chart.Name()
	for _, line := range strings.Split(message, "\n") {
		match := schemaPath.FindStringSubmatch(line)
		if match == nil {
			continue
		}
		path := splitPointer(match[1])
		out = append(out, schemaError{Path: match[1], Message: strings.TrimSpace(match[2]), From: originOf(ctx, path, kubeClient, hr, resolved, chartName)})
	}
	return out
}

func originOf(ctx context.Context, path []string, kubeClient clientReader, hr *v2.HelmRelease, resolved *resolvedChart, chartName string) valuesOrigin {
	if hasPath(hr.GetValues(), path) {
		return valuesOrigin{Kind: "values"}
	}
	for i := len(hr.Spec.ValuesFrom) - 1; i >= 0; i-- {
		ref := hr.Spec.ValuesFrom[i]
		layer, err := chartutil.ChartValuesFromReferences(ctx, logr.Discard(), kubeClient, hr.Namespace, nil, ref)
		if err == nil && hasPath(layer, path) {
			return valuesOrigin{Kind: "valuesFrom", Ref: fmt.Sprintf("%s/%s %s", ref.Kind, ref.Name, ref.GetValuesKey())}
		}
	}
	for i := len(resolved.valuesFiles) - 1; i >= 0; i-- {
		if hasPath(resolved.valuesFileValues[i], path) {
			return valuesOrigin{Kind: "valuesFile", File: resolved.valuesFiles[i]}
		}
	}
	return valuesOrigin{Kind: "chart", File: chartName + "/values.yaml"}
}

// splitPointer turns a JSON pointer (/a/b/0) into its tokens.
func splitPointer(pointer string) []string {
	if pointer == "" || pointer == "/" {
		return nil
	}
	parts := strings.Split(strings.TrimPrefix(pointer, "/"), "/")
	for i, part := range parts {
		parts[i] = strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")
	}
	return parts
}

func hasPath(values map[string]any, path []string) bool {
	if len(path) == 0 {
		return false
	}
	var node any = values
	for _, key := range path {
		switch typed := node.(type) {
		case map[string]any:
			next, ok := typed[key]
			if !ok {
				return false
			}
			node = next
		case common.Values:
			next, ok := typed[key]
			if !ok {
				return false
			}
			node = next
		case []any:
			index := -1
			if _, err := fmt.Sscanf(key, "%d", &index); err != nil || index < 0 || index >= len(typed) {
				return false
			}
			node = typed[index]
		default:
			return false
		}
	}
	return true
}

