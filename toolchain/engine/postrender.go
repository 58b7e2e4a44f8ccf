// The post-renderers helm-controller runs on every release (kustomize patches and images, common
// metadata, and the origin labels helm.toolkit.fluxcd.io/name and /namespace). They are internal to
// helm-controller (github.com/fluxcd/helm-controller/internal/postrender, v1.6.4, the version Flux
// v2.9.5 ships), so they are copied here, unchanged but for being one file.
//
// Copyright 2021-2025 The Flux authors. Licensed under the Apache License, Version 2.0.

package main

import (
	"bytes"
	"encoding/json"
	"fmt"

	v2 "github.com/fluxcd/helm-controller/api/v2"
	"github.com/fluxcd/pkg/apis/kustomize"
	helmpostrender "helm.sh/helm/v4/pkg/postrenderer"
	"sigs.k8s.io/kustomize/api/builtins"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/provider"
	"sigs.k8s.io/kustomize/api/resmap"
	kustypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)



// BuildPostRenderers creates the post-renderer instances from a HelmRelease
// and combines them into a single Combined post renderer.
func buildPostRenderers(rel *v2.HelmRelease) helmpostrender.PostRenderer {
	if rel == nil {
		return nil
	}
	renderers := make([]helmpostrender.PostRenderer, 0)
	for _, r := range rel.Spec.PostRenderers {
		if r.Kustomize != nil {
			renderers = append(renderers, &Kustomize{
				Patches: r.Kustomize.Patches,
				Images:  r.Kustomize.Images,
			})
		}
	}
	if rel.Spec.CommonMetadata != nil {
		renderers = append(renderers, NewCommonRenderer(rel.Spec.CommonMetadata))
	}
	// OriginLabels takes precedence over CommonMetadata renderer, so that in case of label key collision,
	// the label from common metadata is skipped
	renderers = append(renderers, NewOriginLabels(v2.GroupVersion.Group, rel.Namespace, rel.Name))
	if len(renderers) == 0 {
		return nil
	}
	return NewCombined(renderers...)
}




// Combined is a collection of Helm PostRenders which are
// invoked in the order of insertion.
type Combined struct {
	renderers []helmpostrender.PostRenderer
}

func NewCombined(renderer ...helmpostrender.PostRenderer) *Combined {
	pr := make([]helmpostrender.PostRenderer, 0)
	pr = append(pr, renderer...)
	return &Combined{
		renderers: pr,
	}
}

func (c *Combined) Run(renderedManifests *bytes.Buffer) (modifiedManifests *bytes.Buffer, err error) {
	var result = renderedManifests
	for _, renderer := range c.renderers {
		result, err = renderer.Run(result)
		if err != nil {
			return nil, err
		}
	}
	return result, nil
}



type OriginLabels struct {
	group     string
	name      string
	namespace string
}

type CommonRenderer struct {
	labels      map[string]string // Origin labels + Common labels to be applied to all resources
	annotations map[string]string // Common annotations to be applied to all resources
}

func NewOriginLabels(group, namespace, name string) *OriginLabels {
	return &OriginLabels{
		group:     group,
		name:      name,
		namespace: namespace,
	}
}

func (k *OriginLabels) Run(renderedManifests *bytes.Buffer) (modifiedManifests *bytes.Buffer, err error) {
	labels := originLabels(k.group, k.namespace, k.name)
	return transform(renderedManifests, labelTransformer(labels))
}

func NewCommonRenderer(commonMetadata *v2.CommonMetadata) *CommonRenderer {
	renderer := &CommonRenderer{}
	if commonMetadata.Labels != nil {
		renderer.labels = commonMetadata.Labels
	}
	if commonMetadata.Annotations != nil {
		renderer.annotations = commonMetadata.Annotations
	}
	return renderer
}

func (k *CommonRenderer) Run(renderedManifests *bytes.Buffer) (modifiedManifests *bytes.Buffer, err error) {
	var transformers []ResMapTransformer

	if k.labels != nil {
		transformers = append(transformers, labelTransformer(k.labels))
	}
	if k.annotations != nil {
		transformers = append(transformers, annotationTransformer(k.annotations))
	}

	if len(transformers) == 0 {
		return renderedManifests, nil
	}

	return transform(renderedManifests, transformers...)
}

func originLabels(group, namespace, name string) map[string]string {
	return map[string]string{
		fmt.Sprintf("%s/name", group):      name,
		fmt.Sprintf("%s/namespace", group): namespace,
	}
}



// Kustomize is a Helm post-render plugin that runs Kustomize.
type Kustomize struct {
	// Patches is a list of patches to apply to the rendered manifests.
	Patches []kustomize.Patch
	// Images is a list of images to replace in the rendered manifests.
	Images []kustomize.Image
}

func (k *Kustomize) Run(renderedManifests *bytes.Buffer) (modifiedManifests *bytes.Buffer, err error) {
	fs := filesys.MakeFsInMemory()
	cfg := kustypes.Kustomization{}
	cfg.APIVersion = kustypes.KustomizationVersion
	cfg.Kind = kustypes.KustomizationKind
	cfg.Images = adaptImages(k.Images)

	// Add rendered Helm output as input resource to the Kustomization.
	const input = "helm-output.yaml"
	cfg.Resources = append(cfg.Resources, input)
	if err := writeFile(fs, input, renderedManifests); err != nil {
		return nil, err
	}

	// Add patches.
	for _, m := range k.Patches {
		cfg.Patches = append(cfg.Patches, kustypes.Patch{
			Patch:  m.Patch,
			Target: adaptSelector(m.Target),
		})
	}

	// Write kustomization config to file.
	kustomization, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	if err := writeToFile(fs, "kustomization.yaml", kustomization); err != nil {
		return nil, err
	}
	resMap, err := buildKustomization(fs, ".")
	if err != nil {
		return nil, err
	}
	yaml, err := resMap.AsYaml()
	if err != nil {
		return nil, err
	}
	return bytes.NewBuffer(yaml), nil
}

func writeToFile(fs filesys.FileSystem, path string, content []byte) error {
	helmOutput, err := fs.Create(path)
	if err != nil {
		return err
	}
	if _, err = helmOutput.Write(content); err != nil {
		return err
	}
	if err = helmOutput.Close(); err != nil {
		return err
	}
	return nil
}

func writeFile(fs filesys.FileSystem, path string, content *bytes.Buffer) error {
	helmOutput, err := fs.Create(path)
	if err != nil {
		return err
	}
	if _, err = content.WriteTo(helmOutput); err != nil {
		return err
	}
	if err = helmOutput.Close(); err != nil {
		return err
	}
	return nil
}

func adaptImages(images []kustomize.Image) (output []kustypes.Image) {
	for _, image := range images {
		output = append(output, kustypes.Image{
			Name:    image.Name,
			NewName: image.NewName,
			NewTag:  image.NewTag,
			Digest:  image.Digest,
		})
	}
	return
}

func adaptSelector(selector *kustomize.Selector) (output *kustypes.Selector) {
	if selector != nil {
		output = &kustypes.Selector{}
		output.Gvk.Group = selector.Group
		output.Gvk.Kind = selector.Kind
		output.Gvk.Version = selector.Version
		output.Name = selector.Name
		output.Namespace = selector.Namespace
		output.LabelSelector = selector.LabelSelector
		output.AnnotationSelector = selector.AnnotationSelector
	}
	return
}


// buildKustomization wraps krusty.MakeKustomizer with the following settings:
// - load files from outside the kustomization.yaml root
// - disable plugins except for the builtin ones
func buildKustomization(fs filesys.FileSystem, dirPath string) (resmap.ResMap, error) {
	// Temporary workaround for concurrent map read and map write bug
	// https://github.com/kubernetes-sigs/kustomize/issues/3659
	buildMutex.Lock() // (helm-controller: its own mutex; here the one of kustomize builds)
	defer buildMutex.Unlock()

	buildOptions := &krusty.Options{
		LoadRestrictions: kustypes.LoadRestrictionsNone,
		PluginConfig:     kustypes.DisabledPluginConfig(),
	}

	k := krusty.MakeKustomizer(buildOptions)
	return k.Run(fs, dirPath)
}



type ResMapTransformer interface {
	Transform(resmap.ResMap) error
}

func transform(renderedManifests *bytes.Buffer, transformers ...ResMapTransformer) (*bytes.Buffer, error) {
	resFactory := provider.NewDefaultDepProvider().GetResourceFactory()
	resMapFactory := resmap.NewFactory(resFactory)

	resMap, err := resMapFactory.NewResMapFromBytes(renderedManifests.Bytes())
	if err != nil {
		return nil, err
	}

	for _, t := range transformers {
		if err := t.Transform(resMap); err != nil {
			return nil, err
		}
	}

	yaml, err := resMap.AsYaml()
	if err != nil {
		return nil, err
	}

	return bytes.NewBuffer(yaml), nil
}

func labelTransformer(labels map[string]string) ResMapTransformer {
	return &builtins.LabelTransformerPlugin{
		Labels: labels,
		FieldSpecs: []kustypes.FieldSpec{
			{Path: "metadata/labels", CreateIfNotPresent: true},
		},
	}
}

func annotationTransformer(annotations map[string]string) ResMapTransformer {
	return &builtins.AnnotationsTransformerPlugin{
		Annotations: annotations,
		FieldSpecs: []kustypes.FieldSpec{
			{Path: "metadata/annotations", CreateIfNotPresent: true},
		},
	}
}
