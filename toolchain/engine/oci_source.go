package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/registry"
	"k8s.io/apimachinery/pkg/runtime"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
)

// OCI chart sources, resolved as source-controller resolves them: a HelmRepository of type oci
// (the chart is <url>/<chart>, its version the highest tag in the range, through Helm's registry
// client as source-controller's OCIChartRepository does), and an OCIRepository a HelmRelease's
// chartRef names (spec.ref: digest, else semver, else tag, else latest). Pulls go through Helm's
// registry client; spec.insecure is plain HTTP, as source-controller sets it.

// ociRepo is one OCI repository (host/path, no scheme) and how to reach it.
type ociRepo struct {
	// what names it in messages, e.g. "HelmRepository flux-system/charts (oci://host/path)"
	what      string
	ref       string
	plainHTTP bool
	cred      auth.CredentialFunc
}

// ociChartFromHelmRepository is source-controller's OCIChartRepository.GetChartVersion and
// DownloadChart (internal/helm/repository/oci_chart_repository.go).
func (s *chartStore) ociChartFromHelmRepository(repository *sourcev1.HelmRepository, objects []map[string]any, spec chartSpec) (*resolvedChart, error) {
	what := fmt.Sprintf("HelmRepository %s/%s (%s)", repository.Namespace, repository.Name, redactURL(repository.Spec.URL))
	u, err := url.Parse(repository.Spec.URL)
	if err != nil || u.Scheme != "oci" || u.Host == "" {
		return nil, failed("fetch", "%s: the URL is not a valid oci:// URL", what)
	}
	if err := unsupportedProvider(what, repository.Spec.Provider); err != nil {
		return nil, err
	}
	cred, err := s.registryCredential(objects, repository.Namespace, repository.Spec.SecretRef, u.Host, what)
	if err != nil {
		return nil, err
	}
	repo := ociRepo{what: what, ref: u.Host + path.Join("/", u.Path, spec.chart), plainHTTP: repository.Spec.Insecure, cred: cred}
	tag := spec.version
	// A valid version is used as the tag without listing the tags (source-controller's shortcut).
	if _, err := semver.StrictNewVersion(strings.TrimPrefix(tag, "v")); err != nil || tag == "" {
		tags, err := s.ociTags(repo, true)
		if err != nil {
			return nil, err
		}
		if len(tags) == 0 {
			return nil, failed("fetch", "%s: unable to locate any tags in provided repository: %s", what, spec.chart)
		}
		if tag, err = lastMatchingVersionOrConstraint(tags, spec.version); err != nil {
			return nil, failed("fetch", "%s: chart %s: %v", what, spec.chart, err)
		}
	}
	pulled, err := s.ociPull(repo, tag, "")
	if err != nil {
		return nil, err
	}
	resolved, err := loadPulled(pulled, what)
	if err != nil {
		return nil, err
	}
	if len(spec.valuesFiles) > 0 {
		if err := mergeChartValues(resolved, spec.valuesFiles, spec.ignoreMissingValuesFiles); err != nil {
			return nil, err
		}
	}
	return resolved, nil
}

// ociChartFromOCIRepository is source-controller's OCIRepository reconciler (the artifact: the
// chart layer) and helm-controller's use of it: the chart's version gets the manifest digest's
// first 12 characters as build metadata (mutateChartWithSourceRevision), so mutable tags show.
func (s *chartStore) ociChartFromOCIRepository(source map[string]any, objects []map[string]any, namespace, name string) (*resolvedChart, error) {
	var repository sourcev1.OCIRepository
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(source, &repository); err != nil {
		return nil, failed("invalid-release", "invalid OCIRepository %s/%s: %v", namespace, name, err)
	}
	what := fmt.Sprintf("OCIRepository %s/%s (%s)", namespace, name, redactURL(repository.Spec.URL))
	u, err := url.Parse(repository.Spec.URL)
	if err != nil || u.Scheme != "oci" || u.Host == "" {
		return nil, failed("fetch", "%s: the URL is not a valid oci:// URL", what)
	}
	if err := unsupportedProvider(what, repository.Spec.Provider); err != nil {
		return nil, err
	}
	if media := repository.GetLayerMediaType(); media != "" && media != registry.ChartLayerMediaType && media != registry.LegacyChartLayerMediaType {
		return nil, failed("source-unsupported", "%s: its layerSelector takes layers of type %s, not a Helm chart (%s)", what, media, registry.ChartLayerMediaType)
	}
	cred, err := s.registryCredential(objects, repository.Namespace, repository.Spec.SecretRef, u.Host, what)
	if err != nil {
		return nil, err
	}
	repo := ociRepo{what: what, ref: u.Host + u.Path, plainHTTP: repository.Spec.Insecure, cred: cred}
	ref := repository.Spec.Reference
	if ref == nil {
		ref = &sourcev1.OCIRepositoryRef{}
	}
	var tag, digest string
	switch {
	case ref.Digest != "":
		digest = ref.Digest
	case ref.SemVer != "":
		tags, err := s.ociTags(repo, false)
		if err != nil {
			return nil, err
		}
		if tag, err = tagBySemver(tags, ref.SemVer, ref.SemverFilter); err != nil {
			return nil, failed("fetch", "%s: %v", what, err)
		}
	case ref.Tag != "":
		tag = ref.Tag
	default:
		tag = "latest"
	}
	pulled, err := s.ociPull(repo, tag, digest)
	if err != nil {
		return nil, err
	}
	resolved, err := loadPulled(pulled, what)
	if err != nil {
		return nil, err
	}
	revision := pulled.Digest
	if tag != "" {
		revision = tag + "@" + pulled.Digest
	}
	if err := versionWithRevision(resolved, revision); err != nil {
		return nil, failed("chart-load", "%s: %v", what, err)
	}
	return resolved, nil
}

func unsupportedProvider(what, provider string) error {
	if provider == "" || provider == sourcev1.GenericOCIProvider {
		return nil
	}
	return failed("source-unsupported", "%s: provider %s authenticates with the cloud's workload identity, which is not available here", what, provider)
}

// pulledChart is a chart archive as its registry serves it: the manifest digest names it.
type pulledChart struct {
	Ref    string `json:"ref"`
	Digest string `json:"digest"`
	data   []byte
}

func loadPulled(pulled *pulledChart, what string) (*resolvedChart, error) {
	chrt, err := loader.LoadArchive(bytes.NewReader(pulled.data))
	if err != nil {
		return nil, failed("chart-load", "chart %s from %s could not be loaded: %v", pulled.Ref, what, err)
	}
	return &resolvedChart{chart: chrt, info: chartInfo{Name: chrt.Name(), Version: chrt.Metadata.Version, Source: "oci://" + strings.TrimPrefix(pulled.Ref, "oci://"), Digest: pulled.Digest}}, nil
}

// registryClient is Helm's registry client with only the credentials given here: never the
// runner's Docker or Helm credential files or helpers.
func registryClient(repo ociRepo) (*registry.Client, error) {
	httpClient := &http.Client{Transport: chartTransport, Timeout: 60 * time.Second}
	authorizer := auth.Client{Client: httpClient, Credential: repo.cred, Cache: auth.NewCache()}
	options := []registry.ClientOption{
		registry.ClientOptHTTPClient(httpClient),
		registry.ClientOptAuthorizer(authorizer),
		registry.ClientOptCredentialsFile(filepath.Join("/nonexistent", "gitops-ci", "registry.json")),
	}
	if repo.plainHTTP {
		options = append(options, registry.ClientOptPlainHTTP())
	}
	return registry.NewClient(options...)
}

// ociTags lists the repository's tags; semverOnly: as Helm's client lists them (valid versions,
// "_" back to "+"), for a HelmRepository. Cached, so that --offline resolves a range as it was.
func (s *chartStore) ociTags(repo ociRepo, semverOnly bool) ([]string, error) {
	kind := "oci-tags"
	if semverOnly {
		kind = "oci-helm-tags"
	}
	key := cacheKey(kind, repo.ref)
	file := s.cachePath(key + ".json")
	return memo(s, key, func() ([]string, error) {
		var tags []string
		if s.offline {
			data, err := readCached(file)
			if err != nil || json.Unmarshal(data, &tags) != nil {
				return nil, failed("offline-miss", "%s: the tags of %s are not in the chart cache (--offline)", repo.what, repo.ref)
			}
			return tags, nil
		}
		client, err := registryClient(repo)
		if err != nil {
			return nil, failed("fetch", "%s: %v", repo.what, err)
		}
		if semverOnly {
			tags, err = client.Tags(repo.ref)
		} else {
			tags, err = rawTags(repo)
		}
		if err != nil {
			return nil, failed("fetch", "%s: listing the tags of %s: %v", repo.what, repo.ref, err)
		}
		if data, err := json.Marshal(tags); err == nil {
			writeCached(file, data)
		}
		return tags, nil
	})
}

// rawTags lists every tag (an OCIRepository's semver range reads tags such as v1.2.3 too).
func rawTags(repo ociRepo) ([]string, error) {
	remoteRepo, err := remote.NewRepository(repo.ref)
	if err != nil {
		return nil, err
	}
	remoteRepo.PlainHTTP = repo.plainHTTP
	remoteRepo.Client = &auth.Client{Client: &http.Client{Transport: chartTransport, Timeout: 60 * time.Second}, Credential: repo.cred, Cache: auth.NewCache()}
	var out []string
	err = remoteRepo.Tags(context.Background(), "", func(tags []string) error {
		out = append(out, tags...)
		return nil
	})
	return out, err
}

// ociPull fetches the chart at tag (resolved to its manifest digest) or digest. The archive is
// cached by repository and digest; a tag's digest is cached too, for --offline. Online, a tag is
// always resolved again (tags move), and a digest already cached is not pulled again.
func (s *chartStore) ociPull(repo ociRepo, tag, digest string) (*pulledChart, error) {
	display := repo.ref + "@" + digest
	if tag != "" {
		display = repo.ref + ":" + tag
	}
	if tag != "" {
		tagKey := cacheKey("oci-tag", repo.ref, tag)
		tagFile := s.cachePath(tagKey + ".json")
		resolved, err := memo(s, tagKey, func() (string, error) {
			if s.offline {
				var cached pulledChart
				data, err := readCached(tagFile)
				if err != nil || json.Unmarshal(data, &cached) != nil || cached.Digest == "" {
					return "", failed("offline-miss", "%s: chart %s is not in the chart cache (--offline)", repo.what, display)
				}
				return cached.Digest, nil
			}
			client, err := registryClient(repo)
			if err != nil {
				return "", failed("fetch", "%s: %v", repo.what, err)
			}
			descriptor, err := client.Resolve(repo.ref + ":" + strings.ReplaceAll(tag, "+", "_"))
			if err != nil {
				return "", failed("fetch", "%s: chart %s: %v", repo.what, display, err)
			}
			if data, err := json.Marshal(pulledChart{Ref: display, Digest: descriptor.Digest.String()}); err == nil {
				writeCached(tagFile, data)
			}
			return descriptor.Digest.String(), nil
		})
		if err != nil {
			return nil, err
		}
		digest = resolved
	}
	key := cacheKey("oci-chart", repo.ref, digest)
	data, err := s.archiveBy(key, func() ([]byte, error) {
		if s.offline {
			return nil, failed("offline-miss", "%s: chart %s is not in the chart cache (--offline)", repo.what, display)
		}
		client, err := registryClient(repo)
		if err != nil {
			return nil, failed("fetch", "%s: %v", repo.what, err)
		}
		result, err := client.Pull(repo.ref+"@"+digest, registry.PullOptWithProv(false))
		if err != nil {
			return nil, failed("fetch", "%s: chart %s: %v", repo.what, display, err)
		}
		return result.Chart.Data, nil
	})
	if err != nil {
		return nil, err
	}
	return &pulledChart{Ref: display, Digest: digest, data: data}, nil
}
