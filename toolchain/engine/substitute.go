package main

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	"github.com/fluxcd/pkg/envsubst"
	"github.com/fluxcd/pkg/kustomize"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/kustomize/api/resource"
)

const substituteKey = "kustomize.toolkit.fluxcd.io/substitute"

// substitute runs Flux's postBuild substitution on one object, with substituteFrom read from
// the objects the cluster renders (a client over them stands in for the API server). It also
// names the variables that have neither a value nor a default.
func substitute(ks *kustomizev1.Kustomization, u unstructured.Unstructured, res *resource.Resource, req buildRequest) ([]string, error) {
	ctx := context.Background()
	var kubeClient client.Client
	if req.ResolveSubstituteFrom {
		c, err := clientOver(req.Objects)
		if err != nil {
			return nil, err
		}
		kubeClient = c
	}
	always := ks.GetSubstituteStrategy() == kustomizev1.SubstituteStrategyAlways
	unset, err := unsetVariables(ctx, kubeClient, u, res, !req.ResolveSubstituteFrom, always)
	if err != nil {
		return nil, err
	}
	if req.Placeholders && len(unset) > 0 {
		u = withPlaceholders(u, unset)
	}
	_, err = kustomize.SubstituteVariables(ctx, kubeClient, u, res,
		kustomize.SubstituteWithDryRun(!req.ResolveSubstituteFrom),
		kustomize.SubstituteWithAlways(always))
	return unset, err
}

var notSet = regexp.MustCompile(`variable not set \(strict mode\): "([^"]+)"`)

// unsetVariables evaluates the object in Flux's strict mode, once per missing variable, to list
// what kustomize-controller would silently replace with "".
func unsetVariables(ctx context.Context, kubeClient client.Client, u unstructured.Unstructured, res *resource.Resource, dryRun, always bool) ([]string, error) {
	if res.GetLabels()[substituteKey] == kustomize.DisabledValue || res.GetAnnotations()[substituteKey] == kustomize.DisabledValue {
		return nil, nil
	}
	vars := map[string]string{}
	if !dryRun {
		loaded, err := kustomize.LoadVariables(ctx, kubeClient, u)
		if err != nil {
			return nil, err
		}
		vars = loaded
	}
	inline, _, _ := unstructured.NestedStringMap(u.Object, "spec", "postBuild", "substitute")
	for k, v := range inline {
		vars[k] = strings.ReplaceAll(v, "\n", "")
	}
	if len(vars) == 0 && !always {
		return nil, nil
	}
	data, err := res.AsYAML()
	if err != nil {
		return nil, err
	}
	var unset []string
	pretend := map[string]bool{}
	for range 100 {
		_, err := envsubst.Eval(string(data), func(name string) (string, bool) {
			if v, ok := vars[name]; ok {
				return v, true
			}
			return "", pretend[name]
		})
		match := notSet.FindStringSubmatch(fmt.Sprint(err))
		if match == nil {
			break // done, or an error the real substitution reports
		}
		unset = append(unset, match[1])
		pretend[match[1]] = true
	}
	return unset, nil
}

func clientOver(objects []map[string]any) (client.Client, error) {
	scheme := runtime.NewScheme()
	if err := corev1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	builder := fake.NewClientBuilder().WithScheme(scheme)
	for _, object := range objects {
		raw, err := json.Marshal(object)
		if err != nil {
			return nil, err
		}
		switch object["kind"] {
		case "ConfigMap":
			var cm corev1.ConfigMap
			if err := json.Unmarshal(raw, &cm); err != nil {
				return nil, fmt.Errorf("ConfigMap for substituteFrom: %w", err)
			}
			builder = builder.WithObjects(&cm)
		case "Secret":
			var secret corev1.Secret
			if err := json.Unmarshal(raw, &secret); err != nil {
				return nil, fmt.Errorf("Secret for substituteFrom: %w", err)
			}
			// The API server folds stringData into data; the controller reads data.
			for k, v := range secret.StringData {
				if secret.Data == nil {
					secret.Data = map[string][]byte{}
				}
				secret.Data[k] = []byte(v)
			}
			secret.StringData = nil
			builder = builder.WithObjects(&secret)
		}
	}
	return builder.Build(), nil
}

// withPlaceholders adds NAME: ${NAME} to spec.postBuild.substitute for each variable given.
func withPlaceholders(u unstructured.Unstructured, names []string) unstructured.Unstructured {
	copied := unstructured.Unstructured{Object: runtime.DeepCopyJSON(u.Object)}
	inline, _, _ := unstructured.NestedStringMap(copied.Object, "spec", "postBuild", "substitute")
	if inline == nil {
		inline = map[string]string{}
	}
	for _, name := range names {
		inline[name] = "${" + name + "}"
	}
	_ = unstructured.SetNestedStringMap(copied.Object, inline, "spec", "postBuild", "substitute")
	return copied
}
