package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	v2 "github.com/fluxcd/helm-controller/api/v2"
	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart/common"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	chartutilv2 "helm.sh/helm/v4/pkg/chart/v2/util"
	release "helm.sh/helm/v4/pkg/release/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/yaml"
	"bytes"
	"errors"
)

// templateRelease renders the release as helm-controller installs it (its internal/action/install.go
// at v1.6.4), with Helm's SDK in client-only dry-run (what `helm template` does): the same release
// name and namespace, schema validation and post-renderers; CRDs from the chart's crds/ per the
// install CRD policy, labelled with the origin labels as helm-controller's CRD visitor does; hooks
// kept, test hooks left out (helm-controller runs tests only when spec.test.enable).
func templateRelease(hr *v2.HelmRelease, chrt *chart.Chart, values common.Values, req releaseRequest) ([]map[string]any, error) {
	cfg := action.NewConfiguration(action.ConfigurationSetLogger(slog.NewTextHandler(io.Discard, nil)))
	install := action.NewInstall(cfg)
	install.DryRunStrategy = action.DryRunClient
	install.Replace = true // no release storage to check names against
	install.ReleaseName = shortenName(hr.GetReleaseName())
	install.Namespace = hr.GetReleaseNamespace()
	install.DisableHooks = hr.GetInstall().DisableHooks
	install.SkipSchemaValidation = hr.GetInstall().DisableSchemaValidation
	install.Devel = true
	install.SkipCRDs = true
	install.IncludeCRDs = false
	install.PostRenderer = buildPostRenderers(hr)
	install.PostRenderStrategy = postRenderStrategyOf(hr.GetPostRenderStrategy())
	if req.KubeVersion != "" {
		kubeVersion, err := common.ParseKubeVersion(req.KubeVersion)
		if err != nil {
			return nil, fmt.Errorf("invalid Kubernetes version %q: %w", req.KubeVersion, err)
		}
		install.KubeVersion = kubeVersion
	}
	install.APIVersions = common.VersionSet(req.APIVersions)

	releaser, err := install.RunWithContext(context.Background(), chrt, values.AsMap())
	if err != nil {
		return nil, err
	}
	rel, ok := releaser.(*release.Release)
	if !ok {
		return nil, errors.New("only the Chart API v2 is supported")
	}

	var objects []map[string]any
	policy := hr.GetInstall().CRDs
	if policy == "" {
		policy = v2.Create
	}
	if policy != v2.Skip {
		// As applyCRDs: the dependencies enabled by the values, then every CRD of the chart and its subcharts.
		crdChart := chrt
		if err := chartutilv2.ProcessDependencies(crdChart, values); err != nil {
			return nil, fmt.Errorf("failed to process chart dependencies: %w", err)
		}
		origin := originLabels(v2.GroupVersion.Group, hr.Namespace, hr.Name)
		for _, crd := range crdChart.CRDObjects() {
			docs, err := decodeDocuments(crd.File.Data)
			if err != nil {
				return nil, fmt.Errorf("failed to parse CustomResourceDefinitions from %s: %w", crd.Name, err)
			}
			for _, doc := range docs {
				if doc["kind"] != "CustomResourceDefinition" || !strings.HasPrefix(fmt.Sprint(doc["apiVersion"]), "apiextensions.k8s.io/") {
					continue // helm-controller drops what is not a CRD from crds/
				}
				u := unstructured.Unstructured{Object: doc}
				labels := u.GetLabels()
				if labels == nil {
					labels = map[string]string{}
				}
				for k, v := range origin {
					labels[k] = v
				}
				u.SetLabels(labels)
				objects = append(objects, u.Object)
			}
		}
	}
	manifest, err := decodeDocuments([]byte(rel.Manifest))
	if err != nil {
		return nil, fmt.Errorf("the chart's output is not valid YAML: %w", err)
	}
	objects = append(objects, manifest...)
	if !install.DisableHooks {
		for _, hook := range rel.Hooks {
			if isTestHook(hook) {
				continue
			}
			docs, err := decodeDocuments([]byte(hook.Manifest))
			if err != nil {
				return nil, fmt.Errorf("hook %s is not valid YAML: %w", hook.Path, err)
			}
			objects = append(objects, docs...)
		}
	}
	// Every object carries the namespace it would be applied in: helm applies a namespaced object
	// without one in the release namespace (cluster-scoped kinds are known to the caller).
	return objects, nil
}

func isTestHook(hook *release.Hook) bool {
	for _, event := range hook.Events {
		if event == release.HookTest {
			return true
		}
	}
	return false
}

func postRenderStrategyOf(strategy v2.PostRenderStrategy) action.PostRenderStrategy {
	// helm-controller's toHelmPostRenderStrategy: Helm 4's combined strategy by default.
	if strategy == "" {
		return action.PostRenderStrategyCombined
	}
	return action.PostRenderStrategy(strategy)
}

func decodeDocuments(data []byte) ([]map[string]any, error) {
	decoder := yaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var out []map[string]any
	for {
		var doc map[string]any
		if err := decoder.Decode(&doc); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, err
		}
		if len(doc) == 0 {
			continue
		}
		out = append(out, doc)
	}
}

func countCRDs(objects []map[string]any) int {
	n := 0
	for _, object := range objects {
		if object["kind"] == "CustomResourceDefinition" {
			n++
		}
	}
	return n
}
