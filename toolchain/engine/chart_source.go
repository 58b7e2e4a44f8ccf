package main

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/Masterminds/semver/v3"
	securejoin "github.com/cyphar/filepath-securejoin"
	v2 "github.com/fluxcd/helm-controller/api/v2"
	"github.com/fluxcd/pkg/chartutil"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	repo "helm.sh/helm/v4/pkg/repo/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"oras.land/oras-go/v2/registry/remote/auth"
	sigsyaml "sigs.k8s.io/yaml"
)

// The transport of chart fetches: the process's default transport refuses every request (remote
// kustomize bases are never fetched), so charts go through their own, taken before main replaces it.
var chartTransport = http.DefaultTransport.(*http.Transport).Clone()

// resolvedChart is a chart as source-controller would build its artifact: loaded, with the
// valuesFiles merged into its values.
type resolvedChart struct {
	chart *chart.Chart
	info  chartInfo
	// valuesFiles and their values, in order, for naming the origin of a value.
	valuesFiles      []string
	valuesFileValues []map[string]any
}

// chartStore fetches and caches chart archives: on disk in cacheDir (keyed by the source URL, the
// chart and its resolved version and digest), and in memory for this process. Offline, only the
// disk cache is read.
type chartStore struct {
	cacheDir string
	offline  bool

	// registryAuth: credentials for OCI registries by host, from the CI variables (a registry
	// source's secretRef, when it has one, is used instead).
	registryAuth auth.CredentialFunc

	mu      sync.Mutex
	indexes map[string]*indexEntry
	memos   map[string]*memoEntry
}

type indexEntry struct {
	once  sync.Once
	index *repo.IndexFile
	err   error
}

func newChartStore(cacheDir string, offline bool, registryAuth auth.CredentialFunc) *chartStore {
	return &chartStore{cacheDir: cacheDir, offline: offline, registryAuth: registryAuth, indexes: map[string]*indexEntry{}, memos: map[string]*memoEntry{}}
}

// chartSpec is what a HelmChart (written, or generated from a HelmRelease's spec.chart) asks for.
type chartSpec struct {
	chart, version                   string
	sourceKind, sourceName, sourceNS string
	valuesFiles                      []string
	ignoreMissingValuesFiles         bool
	// what names it in messages: HelmChart namespace/name
	helmChart string
}

func (s *chartStore) resolve(root string, hr *v2.HelmRelease, req releaseRequest, rec *recorder) (*resolvedChart, error) {
	if hr.HasChartRef() && hr.Spec.ChartRef.Kind == sourcev1.OCIRepositoryKind {
		ref := hr.Spec.ChartRef
		ns := ref.Namespace
		if ns == "" {
			ns = hr.Namespace
		}
		source := findSource(req.Sources, sourcev1.OCIRepositoryKind, ns, ref.Name)
		if source == nil {
			return nil, failed("source-not-found", "OCIRepository %s/%s not found: no rendered object defines it", ns, ref.Name)
		}
		return s.ociChartFromOCIRepository(source, req.Objects, ns, ref.Name)
	}
	spec, err := chartSpecOf(hr, req.Sources)
	if err != nil {
		return nil, err
	}
	switch spec.sourceKind {
	case sourcev1.GitRepositoryKind:
		if !slices.Contains(req.LocalGitRepositories, spec.sourceNS+"/"+spec.sourceName) {
			return nil, failed("source-unsupported", "chart %s comes from GitRepository %s/%s, another repository than this one: it is not fetched", spec.chart, spec.sourceNS, spec.sourceName)
		}
		return localChart(root, spec, rec)
	case sourcev1.HelmRepositoryKind:
		source := findSource(req.Sources, sourcev1.HelmRepositoryKind, spec.sourceNS, spec.sourceName)
		if source == nil {
			return nil, failed("source-not-found", "HelmRepository %s/%s not found: no rendered object defines it", spec.sourceNS, spec.sourceName)
		}
		var repository sourcev1.HelmRepository
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(source, &repository); err != nil {
			return nil, failed("invalid-release", "invalid HelmRepository %s/%s: %v", spec.sourceNS, spec.sourceName, err)
		}
		if repository.Spec.Type == sourcev1.HelmRepositoryTypeOCI {
			return s.ociChartFromHelmRepository(&repository, req.Objects, spec)
		}
		auth, err := basicAuthOf(req.Objects, repository.Namespace, repository.Spec.SecretRef)
		if err != nil {
			return nil, err
		}
		return s.remoteChart(repository.Spec.URL, auth, spec)
	default:
		return nil, failed("source-unsupported", "chart %s comes from a %s, which is not rendered", spec.chart, spec.sourceKind)
	}
}

// chartSpecOf follows helm-controller: spec.chart makes a HelmChart in the source's namespace;
// spec.chartRef names a HelmChart (or an OCIRepository) directly.
func chartSpecOf(hr *v2.HelmRelease, sources []map[string]any) (chartSpec, error) {
	if hr.HasChartTemplate() {
		t := hr.Spec.Chart.Spec
		ns := t.SourceRef.Namespace
		if ns == "" {
			ns = hr.Namespace
		}
		return chartSpec{chart: t.Chart, version: t.Version, sourceKind: t.SourceRef.Kind, sourceName: t.SourceRef.Name, sourceNS: ns,
			valuesFiles: t.ValuesFiles, ignoreMissingValuesFiles: t.IgnoreMissingValuesFiles,
			helmChart: ns + "/" + hr.Namespace + "-" + hr.Name}, nil
	}
	if hr.HasChartRef() {
		ref := hr.Spec.ChartRef
		ns := ref.Namespace
		if ns == "" {
			ns = hr.Namespace
		}
		if ref.Kind != sourcev1.HelmChartKind {
			return chartSpec{}, failed("source-unsupported", "chartRef %s %s/%s: a chartRef names a HelmChart or an OCIRepository", ref.Kind, ns, ref.Name)
		}
		object := findSource(sources, sourcev1.HelmChartKind, ns, ref.Name)
		if object == nil {
			return chartSpec{}, failed("source-not-found", "HelmChart %s/%s not found: no rendered object defines it", ns, ref.Name)
		}
		var hc sourcev1.HelmChart
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(object, &hc); err != nil {
			return chartSpec{}, failed("invalid-release", "invalid HelmChart %s/%s: %v", ns, ref.Name, err)
		}
		return chartSpec{chart: hc.Spec.Chart, version: hc.Spec.Version, sourceKind: hc.Spec.SourceRef.Kind, sourceName: hc.Spec.SourceRef.Name, sourceNS: ns,
			valuesFiles: hc.Spec.ValuesFiles, ignoreMissingValuesFiles: hc.Spec.IgnoreMissingValuesFiles, helmChart: ns + "/" + ref.Name}, nil
	}
	return chartSpec{}, failed("invalid-release", "the HelmRelease has neither spec.chart nor spec.chartRef")
}

func findSource(sources []map[string]any, kind, namespace, name string) map[string]any {
	for _, source := range sources {
		metadata, _ := source["metadata"].(map[string]any)
		if source["kind"] == kind && metadata["name"] == name && metadata["namespace"] == namespace {
			return source
		}
	}
	return nil
}

// localChart is source-controller's local builder: the chart is a folder of the artifact; valuesFiles
// are paths in the artifact too, and replace the chart's values.
func localChart(root string, spec chartSpec, rec *recorder) (*resolvedChart, error) {
	dir, err := securejoin.SecureJoin(root, spec.chart)
	if err != nil {
		return nil, failed("outside-root", "chart path %s: %v", spec.chart, err)
	}
	rec.tree(dir)
	if err := refuseLinksOut(root, dir); err != nil {
		return nil, err
	}
	recordChartFiles(dir, rec)
	chrt, err := loader.LoadDir(dir)
	if err != nil {
		return nil, failed("chart-load", "chart %s could not be loaded: %v", spec.chart, err)
	}
	resolved := &resolvedChart{chart: chrt, info: chartInfo{Name: chrt.Name(), Version: chrt.Metadata.Version, Source: strings.TrimPrefix(path.Clean("/"+spec.chart), "/")}}
	if len(spec.valuesFiles) == 0 {
		return resolved, nil
	}
	merged := map[string]any{}
	for _, file := range spec.valuesFiles {
		full, err := securejoin.SecureJoin(root, file)
		if err != nil {
			return nil, failed("outside-root", "values file %s: %v", file, err)
		}
		rec.file(full)
		data, err := os.ReadFile(full)
		if err != nil {
			if spec.ignoreMissingValuesFiles && os.IsNotExist(err) {
				continue
			}
			return nil, failed("chart-load", "no values file found at path '%s'", file)
		}
		values := map[string]any{}
		if err := sigsyaml.Unmarshal(data, &values); err != nil {
			return nil, failed("chart-load", "unmarshaling values from '%s' failed: %v", file, err)
		}
		merged = chartutil.MergeMaps(merged, values)
		resolved.valuesFiles = append(resolved.valuesFiles, file)
		resolved.valuesFileValues = append(resolved.valuesFileValues, values)
	}
	setChartValues(chrt, merged)
	return resolved, nil
}

// recordChartFiles records every file of a chart folder as an input: the loader reads them all
// (what .helmignore leaves out too, so an edit of it is an input as well).
func recordChartFiles(dir string, rec *recorder) {
	_ = filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() {
			rec.file(p)
		}
		return nil
	})
}

// refuseLinksOut refuses a chart folder with a symlink that leads outside the repository: Helm's
// loader follows links, source-controller's artifact holds none.
func refuseLinksOut(root, dir string) error {
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return failed("outside-root", "%v", err)
	}
	return filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return failed("chart-load", "%v", err)
		}
		if info.Mode()&os.ModeSymlink == 0 {
			return nil
		}
		target, err := filepath.EvalSymlinks(p)
		rel, relErr := filepath.Rel(realRoot, target)
		if err != nil || relErr != nil || rel == ".." || strings.HasPrefix(rel, "../") {
			return failed("outside-root", "chart file %s is a link outside the repository", p)
		}
		return nil
	})
}

func (s *chartStore) remoteChart(repoURL string, auth *basicAuth, spec chartSpec) (*resolvedChart, error) {
	index, err := s.index(repoURL, auth)
	if err != nil {
		return nil, err
	}
	version, err := chartVersion(index, spec.chart, spec.version)
	if err != nil {
		return nil, failed("fetch", "HelmRepository %s: %v", redactURL(repoURL), err)
	}
	if len(version.URLs) == 0 {
		return nil, failed("fetch", "HelmRepository %s: chart %s %s has no download URL", redactURL(repoURL), spec.chart, version.Version)
	}
	archiveURL, err := resolveReference(repoURL, version.URLs[0])
	if err != nil {
		return nil, failed("fetch", "HelmRepository %s: chart %s %s: %v", redactURL(repoURL), spec.chart, version.Version, err)
	}
	key := cacheKey("chart", repoURL, spec.chart, version.Version, version.Digest)
	data, err := s.archive(key, archiveURL, auth, spec.chart+" "+version.Version)
	if err != nil {
		return nil, err
	}
	chrt, err := loader.LoadArchive(bytes.NewReader(data))
	if err != nil {
		return nil, failed("chart-load", "chart %s %s from %s could not be loaded: %v", spec.chart, version.Version, redactURL(repoURL), err)
	}
	resolved := &resolvedChart{chart: chrt, info: chartInfo{Name: chrt.Name(), Version: chrt.Metadata.Version, Source: redactURL(repoURL), Digest: version.Digest}}
	if len(spec.valuesFiles) > 0 {
		if err := mergeChartValues(resolved, spec.valuesFiles, spec.ignoreMissingValuesFiles); err != nil {
			return nil, err
		}
	}
	return resolved, nil
}

// mergeChartValues is source-controller's remote builder (internal/helm/chart/builder_remote.go):
// valuesFiles are files of the chart, values.yaml among them by name, and replace its values.
func mergeChartValues(resolved *resolvedChart, paths []string, ignoreMissing bool) error {
	chrt := resolved.chart
	merged := map[string]any{}
	for _, p := range paths {
		name := filepath.Clean(p)
		var values map[string]any
		if name == "values.yaml" {
			values = chrt.Values
		} else {
			var data []byte
			for _, f := range chrt.Files {
				if f.Name == name {
					data = f.Data
					break
				}
			}
			if data == nil {
				if ignoreMissing {
					continue
				}
				return failed("chart-load", "no values file found at path '%s'", p)
			}
			values = map[string]any{}
			if err := sigsyaml.Unmarshal(data, &values); err != nil {
				return failed("chart-load", "unmarshaling values from '%s' failed: %v", p, err)
			}
		}
		merged = chartutil.MergeMaps(merged, values)
		resolved.valuesFiles = append(resolved.valuesFiles, chrt.Name()+"/"+name)
		resolved.valuesFileValues = append(resolved.valuesFileValues, values)
	}
	setChartValues(chrt, merged)
	return nil
}

// setChartValues replaces the chart's values, as source-controller packages them into values.yaml.
func setChartValues(chrt *chart.Chart, values map[string]any) {
	chrt.Values = values
	data, err := sigsyaml.Marshal(values)
	if err != nil {
		return
	}
	for _, f := range chrt.Raw {
		if f.Name == "values.yaml" {
			f.Data = data
		}
	}
}

func (s *chartStore) index(repoURL string, auth *basicAuth) (*repo.IndexFile, error) {
	s.mu.Lock()
	entry, ok := s.indexes[repoURL]
	if !ok {
		entry = &indexEntry{}
		s.indexes[repoURL] = entry
	}
	s.mu.Unlock()
	entry.once.Do(func() {
		file := s.cachePath(cacheKey("index", repoURL) + ".yaml")
		var data []byte
		if s.offline {
			var err error
			if data, err = readCached(file); err != nil {
				entry.err = failed("offline-miss", "HelmRepository %s: its index is not in the chart cache (--offline)", redactURL(repoURL))
				return
			}
		} else {
			indexURL := strings.TrimSuffix(repoURL, "/") + "/index.yaml"
			var err error
			if data, err = fetch(indexURL, auth); err != nil {
				entry.err = failed("fetch", "HelmRepository %s: %v", redactURL(repoURL), err)
				return
			}
			writeCached(file, data)
		}
		index := &repo.IndexFile{}
		if err := sigsyaml.Unmarshal(data, index); err != nil {
			entry.err = failed("fetch", "HelmRepository %s: its index.yaml is not valid: %v", redactURL(repoURL), err)
			return
		}
		index.SortEntries()
		entry.index = index
	})
	return entry.index, entry.err
}

func (s *chartStore) archive(key, archiveURL string, auth *basicAuth, what string) ([]byte, error) {
	return s.archiveBy(key, func() ([]byte, error) {
		if s.offline {
			return nil, failed("offline-miss", "chart %s from %s is not in the chart cache (--offline)", what, redactURL(archiveURL))
		}
		data, err := fetch(archiveURL, auth)
		if err != nil {
			return nil, failed("fetch", "chart %s: %v", what, err)
		}
		return data, nil
	})
}

// archiveBy returns the archive cached under key (in memory, then on disk), else what download
// gives (offline, download only says what is missing), which is then cached.
func (s *chartStore) archiveBy(key string, download func() ([]byte, error)) ([]byte, error) {
	return memo(s, "archive\n"+key, func() ([]byte, error) {
		file := s.cachePath(key + ".tgz")
		if data, err := readCached(file); err == nil {
			return data, nil
		}
		data, err := download()
		if err != nil {
			return nil, err
		}
		writeCached(file, data)
		return data, nil
	})
}

// memo runs fn once per key in this process; every caller gets its result.
func memo[T any](s *chartStore, key string, fn func() (T, error)) (T, error) {
	s.mu.Lock()
	entry, ok := s.memos[key]
	if !ok {
		entry = &memoEntry{}
		s.memos[key] = entry
	}
	s.mu.Unlock()
	entry.once.Do(func() { entry.value, entry.err = fn() })
	value, _ := entry.value.(T)
	return value, entry.err
}

type memoEntry struct {
	once  sync.Once
	value any
	err   error
}

func (s *chartStore) cachePath(name string) string {
	if s.cacheDir == "" {
		return ""
	}
	return filepath.Join(s.cacheDir, "charts", name)
}

func readCached(file string) ([]byte, error) {
	if file == "" {
		return nil, os.ErrNotExist
	}
	return os.ReadFile(file)
}

// writeCached writes atomically; a cache that cannot be written only makes the next run slower.
func writeCached(file string, data []byte) {
	if file == "" {
		return
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return
	}
	tmp, err := os.CreateTemp(filepath.Dir(file), ".tmp-")
	if err != nil {
		return
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if werr != nil || cerr != nil || os.Rename(tmp.Name(), file) != nil {
		_ = os.Remove(tmp.Name())
	}
}

func cacheKey(parts ...string) string {
	return fmt.Sprintf("%x", sha256.Sum256([]byte(strings.Join(parts, "\n"))))
}

var chartClient = &http.Client{Transport: chartTransport, Timeout: 60 * time.Second}

func fetch(target string, auth *basicAuth) ([]byte, error) {
	request, err := http.NewRequest(http.MethodGet, target, nil)
	if err != nil {
		return nil, fmt.Errorf("invalid URL %s", redactURL(target))
	}
	if auth != nil {
		request.SetBasicAuth(auth.username, auth.password)
	}
	response, err := chartClient.Do(request)
	if err != nil {
		// The error names the URL (without its user info); never the credentials.
		var urlErr *url.Error
		if ok := asURLError(err, &urlErr); ok {
			return nil, fmt.Errorf("GET %s: %v", redactURL(target), urlErr.Err)
		}
		return nil, fmt.Errorf("GET %s failed", redactURL(target))
	}
	defer response.Body.Close()
	if response.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", redactURL(target), response.Status)
	}
	return io.ReadAll(io.LimitReader(response.Body, 1<<30))
}

func asURLError(err error, target **url.Error) bool {
	e, ok := err.(*url.Error)
	if ok {
		*target = e
	}
	return ok
}

func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(an invalid URL)"
	}
	return u.Redacted()
}

func resolveReference(base, ref string) (string, error) {
	u, err := url.Parse(ref)
	if err != nil {
		return "", err
	}
	if u.IsAbs() {
		return u.String(), nil
	}
	b, err := url.Parse(strings.TrimSuffix(base, "/") + "/")
	if err != nil {
		return "", err
	}
	return b.ResolveReference(u).String(), nil
}

// chartVersion is source-controller's ChartRepository.getChartVersion
// (internal/helm/repository/chart_repository.go, v1.9.5): an exact match first, else the highest
// version in the semver range ("" and "*" mean the latest stable), ties by creation time.
func chartVersion(index *repo.IndexFile, name, ver string) (*repo.ChartVersion, error) {
	cvs, ok := index.Entries[name]
	if !ok {
		return nil, fmt.Errorf("no chart name found")
	}
	if len(cvs) == 0 {
		return nil, fmt.Errorf("no chart version found")
	}
	if ver != "" {
		for _, cv := range cvs {
			if ver == cv.Version {
				return cv, nil
			}
		}
	}
	constraint, err := semver.NewConstraint("*")
	if err != nil {
		return nil, err
	}
	if ver != "" && ver != "*" {
		if constraint, err = semver.NewConstraint(ver); err != nil {
			return nil, err
		}
	}
	var matched semver.Collection
	lookup := map[*semver.Version]*repo.ChartVersion{}
	for _, cv := range cvs {
		v, err := semver.NewVersion(cv.Version)
		if err != nil || !constraint.Check(v) {
			continue
		}
		matched = append(matched, v)
		lookup[v] = cv
	}
	if len(matched) == 0 {
		return nil, fmt.Errorf("no '%s' chart with version matching '%s' found", name, ver)
	}
	sort.SliceStable(matched, func(i, j int) bool {
		left, right := matched[i], matched[j]
		if !left.Equal(right) {
			return !left.LessThan(right)
		}
		return lookup[left].Created.After(lookup[right].Created)
	})
	return lookup[matched[0]], nil
}

