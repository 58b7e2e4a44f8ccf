package main

import (
	"context"
	"fmt"

	v2 "github.com/fluxcd/helm-controller/api/v2"
	"github.com/fluxcd/pkg/apis/meta"
	"helm.sh/helm/v4/pkg/chart/common"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/credentials"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

type clientReader = client.Client

type basicAuth struct{ username, password string }

// basicAuthOf reads a HelmRepository's spec.secretRef (username and password keys), as
// source-controller does. The values are only ever sent to the repository, never printed.
func basicAuthOf(objects []map[string]any, namespace string, ref *meta.LocalObjectReference) (*basicAuth, error) {
	if ref == nil {
		return nil, nil
	}
	c, err := clientOver(objects)
	if err != nil {
		return nil, failed("fetch", "%v", err)
	}
	var secret corev1.Secret
	if err := c.Get(context.Background(), types.NamespacedName{Namespace: namespace, Name: ref.Name}, &secret); err != nil {
		return nil, failed("fetch", "the credentials Secret %s/%s of the repository is not rendered by this cluster (or not decrypted)", namespace, ref.Name)
	}
	username, password := string(secret.Data["username"]), string(secret.Data["password"])
	if username == "" && password == "" {
		return nil, nil // TLS or bearer settings only: not supported, fetched without
	}
	if username == "" || password == "" {
		return nil, failed("fetch", "the credentials Secret %s/%s needs both username and password", namespace, ref.Name)
	}
	return &basicAuth{username: username, password: password}, nil
}

// registryCredential is what source-controller logs in to an OCI registry with: the source's
// secretRef, a kubernetes.io/dockerconfigjson Secret (its entry for the host) or username and
// password keys; without a secretRef, the CI variables' credentials for the host, else none.
func (s *chartStore) registryCredential(objects []map[string]any, namespace string, ref *meta.LocalObjectReference, host, what string) (auth.CredentialFunc, error) {
	if ref == nil {
		if s.registryAuth == nil {
			return auth.StaticCredential(host, auth.EmptyCredential), nil
		}
		return s.registryAuth, nil
	}
	c, err := clientOver(objects)
	if err != nil {
		return nil, failed("fetch", "%v", err)
	}
	var secret corev1.Secret
	if err := c.Get(context.Background(), types.NamespacedName{Namespace: namespace, Name: ref.Name}, &secret); err != nil {
		return nil, failed("fetch", "%s: the credentials Secret %s/%s is not rendered by this cluster (or not decrypted)", what, namespace, ref.Name)
	}
	if config, ok := secret.Data[corev1.DockerConfigJsonKey]; ok {
		store, err := credentials.NewMemoryStoreFromDockerConfig(config)
		if err != nil {
			return nil, failed("fetch", "%s: the credentials Secret %s/%s has no valid %s", what, namespace, ref.Name, corev1.DockerConfigJsonKey)
		}
		return credentials.Credential(store), nil
	}
	username, password := string(secret.Data["username"]), string(secret.Data["password"])
	if username == "" || password == "" {
		return nil, failed("fetch", "%s: the credentials Secret %s/%s needs a %s key, or both username and password", what, namespace, ref.Name, corev1.DockerConfigJsonKey)
	}
	return auth.StaticCredential(host, auth.Credential{Username: username, Password: password}), nil
}

// registryAuthOf reads the CI variables' credentials: a Docker config JSON (its "auths").
func registryAuthOf(config string) (auth.CredentialFunc, error) {
	if config == "" {
		return nil, nil
	}
	store, err := credentials.NewMemoryStoreFromDockerConfig([]byte(config))
	if err != nil {
		return nil, fmt.Errorf("the registry credentials are not a valid Docker config JSON")
	}
	return credentials.Credential(store), nil
}

// secretValuesOf lists the string values that valuesFrom Secrets bring: the caller redacts them
// wherever they show up (the chart may copy them into any object).
func secretValuesOf(ctx context.Context, c client.Reader, hr *v2.HelmRelease) []string {
	var out []string
	for _, ref := range hr.Spec.ValuesFrom {
		if ref.Kind != "Secret" {
			continue
		}
		var secret corev1.Secret
		if err := c.Get(ctx, types.NamespacedName{Namespace: hr.Namespace, Name: ref.Name}, &secret); err != nil {
			continue
		}
		data, ok := secret.Data[ref.GetValuesKey()]
		if !ok {
			continue
		}
		out = append(out, string(data))
		if ref.TargetPath != "" {
			continue
		}
		if values, err := common.ReadValues(data); err == nil {
			collectStrings(values.AsMap(), &out)
		}
	}
	return out
}

func collectStrings(node any, out *[]string) {
	switch typed := node.(type) {
	case map[string]any:
		for _, v := range typed {
			collectStrings(v, out)
		}
	case []any:
		for _, v := range typed {
			collectStrings(v, out)
		}
	case string:
		if typed != "" {
			*out = append(*out, typed)
		}
	case nil, bool:
	default:
		*out = append(*out, fmt.Sprint(typed))
	}
}
