package main

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// Which tag an OCI chart source resolves to, and the version helm-controller gives its chart: the
// functions of source-controller and helm-controller (internal to them) that decide it.

// versionWithRevision is helm-controller's mutateChartWithSourceRevision (v1.6.4, with chart
// digest tracking on, its default).
func versionWithRevision(resolved *resolvedChart, revision string) error {
	ver, err := semver.NewVersion(resolved.chart.Metadata.Version)
	if err != nil {
		return err
	}
	digest := revision
	if tagged, at, ok := strings.Cut(revision, "@"); ok {
		tagVer, err := semver.NewVersion(strings.ReplaceAll(tagged, "_", "+"))
		if err != nil {
			return fmt.Errorf("failed parsing artifact revision %s", tagged)
		}
		if !tagVer.Equal(ver) {
			return fmt.Errorf("artifact revision %s does not match chart version %s", tagged, resolved.chart.Metadata.Version)
		}
		digest = at
	}
	_, sha, ok := strings.Cut(digest, ":")
	if !ok || len(sha) < 12 {
		return fmt.Errorf("invalid artifact revision %s", revision)
	}
	withMeta, err := ver.SetMetadata(sha[:12])
	if err != nil {
		return err
	}
	resolved.chart.Metadata.Version = withMeta.String()
	resolved.info.Version = withMeta.String()
	return nil
}

// lastMatchingVersionOrConstraint is source-controller's function of that name: an exact tag
// first, else the highest version in the range ("" and "*": the latest stable).
func lastMatchingVersionOrConstraint(tags []string, ver string) (string, error) {
	if ver != "" {
		for _, tag := range tags {
			if tag == ver {
				return tag, nil
			}
		}
	}
	constraint, err := semver.NewConstraint("*")
	if err != nil {
		return "", err
	}
	if ver != "" && ver != "*" {
		if constraint, err = semver.NewConstraint(ver); err != nil {
			return "", err
		}
	}
	var matching []*semver.Version
	for _, tag := range tags {
		v, err := parseVersion(tag)
		if err != nil || !constraint.Check(v) {
			continue
		}
		matching = append(matching, v)
	}
	if len(matching) == 0 {
		return "", fmt.Errorf("could not locate a version matching provided version string %s", ver)
	}
	sort.Sort(sort.Reverse(semver.Collection(matching)))
	return matching[0].Original(), nil
}

// tagBySemver is source-controller's OCIRepository getTagBySemver: the highest tag in the range,
// among the tags semverFilter matches.
func tagBySemver(tags []string, expression, filter string) (string, error) {
	constraint, err := semver.NewConstraint(expression)
	if err != nil {
		return "", fmt.Errorf("semver '%s' parse error: %w", expression, err)
	}
	var pattern *regexp.Regexp
	if filter != "" {
		if pattern, err = regexp.Compile(filter); err != nil {
			return "", fmt.Errorf("semverFilter '%s' is not a valid regular expression: %w", filter, err)
		}
	}
	var matching []*semver.Version
	for _, tag := range tags {
		if pattern != nil && !pattern.MatchString(tag) {
			continue
		}
		v, err := parseVersion(tag)
		if err != nil || !constraint.Check(v) {
			continue
		}
		matching = append(matching, v)
	}
	if len(matching) == 0 {
		return "", fmt.Errorf("no match found for semver: %s", expression)
	}
	sort.Sort(sort.Reverse(semver.Collection(matching)))
	return matching[0].Original(), nil
}

// parseVersion is github.com/fluxcd/pkg/version's ParseVersion: strict semver, a leading "v" allowed.
func parseVersion(s string) (*semver.Version, error) {
	if _, err := semver.StrictNewVersion(strings.TrimPrefix(s, "v")); err != nil {
		return nil, err
	}
	return semver.NewVersion(s)
}
