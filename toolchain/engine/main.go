// gitops-ci-engine renders Flux Kustomizations the way kustomize-controller does, with Flux's
// own packages: github.com/fluxcd/pkg/kustomize (its generator, secure filesystem, build
// options and postBuild substitution) and github.com/fluxcd/pkg/ssa (common metadata); and
// HelmReleases the way helm-controller does, with Helm's SDK at helm-controller's version
// (helm.sh/helm/v4), github.com/fluxcd/pkg/chartutil (valuesFrom) and helm-controller's API.
//
// It reads one JSON request on stdin and writes one JSON response on stdout, so one process
// renders many Kustomizations. The caller (gitops-ci, TypeScript) does discovery, ordering,
// findings and reports; this program only builds.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
)

// Version is bumped whenever the output for the same input may change, so caches keyed on it
// are invalidated. The Flux package versions are part of it through go.sum (see the caller).
const Version = "3"

type request struct {
	// Root is the source's root: every read must stay inside it (kustomize-controller's
	// secure filesystem is rooted at the artifact's directory the same way).
	Root    string         `json:"root"`
	Workers int            `json:"workers"`
	Builds  []buildRequest `json:"builds"`
	// Releases are HelmReleases to render; their charts are fetched into ChartCache (unless Offline:
	// then only read from it).
	Releases   []releaseRequest `json:"releases,omitempty"`
	ChartCache string           `json:"chartCache,omitempty"`
	Offline    bool             `json:"offline,omitempty"`
	// RegistryAuth: a Docker config JSON with the OCI registries' credentials from the CI
	// variables (never printed; a source's secretRef is used instead when it has one).
	RegistryAuth string `json:"registryAuth,omitempty"`
	// ResolveOnly: each release's chart is resolved (its version and digest, as the source's
	// artifact would be), not templated; the caller keys its cache of renders by it.
	ResolveOnly bool `json:"resolveOnly,omitempty"`
}

type buildRequest struct {
	ID string `json:"id"`
	// Kustomization is the Flux Kustomization object as the cluster would hold it (after the
	// parent's patches and substitutions).
	Kustomization map[string]any `json:"kustomization"`
	// ResolveSubstituteFrom: substituteFrom is read from Objects, as the controller reads the
	// cluster. Without it, only spec.postBuild.substitute applies (flux build --dry-run).
	ResolveSubstituteFrom bool `json:"resolveSubstituteFrom"`
	// Objects are the ConfigMaps and Secrets the cluster holds for substituteFrom.
	Objects []map[string]any `json:"objects,omitempty"`
	// Placeholders keeps a variable that has no known value as the literal ${NAME}: the
	// caller marked the substituteFrom sources it could not know (a Secret it cannot decrypt, an
	// object created outside Git) optional, and the cluster's value goes where ${NAME} stays.
	Placeholders bool `json:"placeholders"`
	// Origins asks for the repository file each object came from.
	Origins bool `json:"origins"`
}

type response struct {
	Engine  string        `json:"engine"`
	Results []buildResult `json:"results"`
	// Releases: one per request release, in order.
	Releases []releaseResult `json:"releases"`
}

func main() {
	// Remote bases are never fetched: a render is offline, and a merge request must not make
	// the runner download anything. kustomize's HTTP loader goes through the default transport.
	http.DefaultTransport = refusingTransport{}
	http.DefaultClient.Transport = refusingTransport{}

	if len(os.Args) > 1 && os.Args[1] == "version" {
		fmt.Println(Version)
		return
	}
	input, err := io.ReadAll(os.Stdin)
	if err != nil {
		fail("reading the request: %v", err)
	}
	var req request
	if err := json.Unmarshal(input, &req); err != nil {
		fail("the request is not valid JSON: %v", err)
	}
	if req.Root == "" {
		fail("the request has no root")
	}
	workers := req.Workers
	if workers < 1 {
		workers = 1
	}

	results := make([]buildResult, len(req.Builds))
	jobs := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				results[i] = renderKustomization(req.Root, req.Builds[i])
			}
		}()
	}
	for i := range req.Builds {
		jobs <- i
	}
	close(jobs)
	wg.Wait()

	registryAuth, err := registryAuthOf(req.RegistryAuth)
	if err != nil {
		fail("%v", err)
	}
	charts := newChartStore(req.ChartCache, req.Offline, registryAuth)
	releases := make([]releaseResult, len(req.Releases))
	releaseJobs := make(chan int)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range releaseJobs {
				if req.ResolveOnly {
					releases[i] = resolveHelmRelease(req.Root, charts, req.Releases[i])
				} else {
					releases[i] = renderHelmRelease(req.Root, charts, req.Releases[i])
				}
			}
		}()
	}
	for i := range req.Releases {
		releaseJobs <- i
	}
	close(releaseJobs)
	wg.Wait()

	out := json.NewEncoder(os.Stdout)
	out.SetEscapeHTML(false)
	if err := out.Encode(response{Engine: Version, Results: results, Releases: releases}); err != nil {
		fail("writing the response: %v", err)
	}
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "gitops-ci-engine: "+format+"\n", args...)
	os.Exit(2)
}

type refusingTransport struct{}

func (refusingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return nil, fmt.Errorf("%s %s", remoteRefused, r.URL.Redacted())
}

const remoteRefused = "remote resource not fetched:"
