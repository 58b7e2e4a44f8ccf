// Every HelmRelease an overlay renders, templated as helm-controller would install it (see
// core/flux/helm-engine.ts). Its chart's objects join the overlay's manifests, so validation, the
// layer contracts, the secrets scan and the diffs see what the chart creates; each problem is a
// finding on the HelmRelease, and the other releases and overlays still render.
import { readdir } from "node:fs/promises";
import path from "node:path";
import type { TaskContext } from "../../core/context.ts";
import type { Finding, ResourceRef } from "../../core/model/findings.ts";
import type { Fleet } from "../../core/model/fleet.ts";
import { holdsSopsMask } from "../../core/flux/engine.ts";
import { runReleases, type ChartOptions, type ReleaseRender, type ReleaseResult } from "../../core/flux/helm-engine.ts";
import { registryAuthConfig } from "../../core/flux/registry-auth.ts";
import { apiGroupOf, resourceRefOf, type Manifest } from "../../core/manifests.ts";
import { pointerToFieldPath, SourceLocator } from "../../core/source-locator.ts";
import { isRecord, scalarText } from "../../core/yaml-file.ts";
import type { RenderedOverlay } from "../../core/model/rendered-overlay.ts";

const HELM_GROUP = "helm.toolkit.fluxcd.io";
const SOURCE_GROUP = "source.toolkit.fluxcd.io";
const SOURCE_KINDS = new Set(["HelmRepository", "GitRepository", "OCIRepository", "HelmChart"]);

/** Kubernetes' cluster-scoped kinds: an object of any other kind is applied in the release namespace. */
const CLUSTER_SCOPED = new Set([
  "Namespace",
  "Node",
  "PersistentVolume",
  "ClusterRole",
  "ClusterRoleBinding",
  "CustomResourceDefinition",
  "StorageClass",
  "VolumeAttachment",
  "CSIDriver",
  "CSINode",
  "PriorityClass",
  "RuntimeClass",
  "IngressClass",
  "MutatingWebhookConfiguration",
  "ValidatingWebhookConfiguration",
  "ValidatingAdmissionPolicy",
  "ValidatingAdmissionPolicyBinding",
  "MutatingAdmissionPolicy",
  "MutatingAdmissionPolicyBinding",
  "APIService",
  "PodSecurityPolicy",
  "FlowSchema",
  "PriorityLevelConfiguration",
  "CertificateSigningRequest",
  "ComponentStatus",
  "DeviceClass",
  "ResourceSlice",
  "IPAddress",
  "ServiceCIDR",
]);

export interface HelmReleaseOptions extends ChartOptions {
  /** .Capabilities.KubeVersion; Helm's default (its Kubernetes libraries' minor) when absent. */
  kubeVersion?: string;
}

interface Pending {
  overlay: RenderedOverlay;
  manifest: Manifest;
  request: ReleaseRender;
  unresolved: string[];
}

/**
 * Renders the HelmReleases of the overlays that rendered, layer by layer (a release sees the API
 * versions of the CRDs rendered before it, its charts' included), and returns each overlay with the
 * charts' objects and findings added.
 */
export async function renderHelmReleases(
  context: TaskContext,
  fleet: Fleet,
  rendered: readonly RenderedOverlay[],
  options: HelmReleaseOptions,
): Promise<RenderedOverlay[]> {
  const added = new Map<RenderedOverlay, { manifests: Manifest[]; findings: Finding[]; durationMs: number }>();
  const locator = new SourceLocator(fleet.root);
  const orders = [...new Set(rendered.map((result) => result.overlay.order))].sort((a, b) => a - b);
  const registryAuth = registryAuthConfig(context.env, registryHosts(rendered), context.redactor);
  const chartOptions: ChartOptions = { ...options, ...(registryAuth ? { registryAuth } : {}) };
  for (const order of orders) {
    const pending: Pending[] = [];
    for (const result of rendered) {
      if (!result.ok || result.overlay.order !== order) continue;
      const environment = rendered.filter((other) => other.overlay.environment === result.overlay.environment && other.ok);
      const cluster = environment.flatMap((other) => [...other.manifests, ...(added.get(other)?.manifests ?? [])]);
      const before = environment
        .filter((other) => other.overlay.order <= order)
        .flatMap((other) => [...other.manifests, ...(added.get(other)?.manifests ?? [])]);
      for (const manifest of result.manifests) {
        if (manifest.ref.kind !== "HelmRelease" || apiGroupOf(manifest.ref.apiVersion) !== HELM_GROUP) continue;
        const spec = isRecord(manifest.object["spec"]) ? manifest.object["spec"] : {};
        if (spec["suspend"] === true) continue; // reported with the Kustomization's own checks: not applied
        pending.push(releaseRequest(fleet, result, manifest, cluster, before, options, pending.length));
      }
    }
    if (pending.length === 0) continue;
    const results = await runReleases(
      context,
      fleet.root,
      pending.map((item) => item.request),
      chartOptions,
    );
    for (const [index, item] of pending.entries()) {
      const release = results[index]!;
      for (const value of release.secretValues ?? []) context.redactor.add(value);
      const entry = added.get(item.overlay) ?? { manifests: [], findings: [], durationMs: 0 };
      entry.durationMs += release.durationMs;
      entry.manifests.push(...manifestsOf(item, release, environmentManifests(rendered, item)));
      entry.findings.push(...(await findingsOf(item, release, locator, rendered)));
      added.set(item.overlay, entry);
    }
  }
  return rendered.map((result) => {
    const entry = added.get(result);
    if (!entry) return result;
    return {
      ...result,
      manifests: [...result.manifests, ...entry.manifests],
      findings: [...result.findings, ...entry.findings],
      durationMs: result.durationMs + entry.durationMs,
    };
  });
}

function environmentManifests(rendered: readonly RenderedOverlay[], item: Pending): readonly Manifest[] {
  return rendered.filter((other) => other.overlay.environment === item.overlay.overlay.environment).flatMap((other) => other.manifests);
}

function releaseRequest(
  fleet: Fleet,
  result: RenderedOverlay,
  manifest: Manifest,
  cluster: readonly Manifest[],
  before: readonly Manifest[],
  options: HelmReleaseOptions,
  index: number,
): Pending {
  const helmRelease = structuredClone(manifest.object);
  const spec = isRecord(helmRelease["spec"]) ? helmRelease["spec"] : {};
  const namespace = manifest.ref.namespace ?? "";
  const sources = cluster.filter((other) => SOURCE_KINDS.has(other.ref.kind) && apiGroupOf(other.ref.apiVersion) === SOURCE_GROUP);
  // Only what the release reads: its valuesFrom objects and its sources' credentials (so a
  // ConfigMap of another release changes neither this request nor its cache key).
  const wanted = new Set(referencedObjects(spec, namespace, sources));
  const objects = cluster
    .filter(
      (other) =>
        (other.ref.kind === "ConfigMap" || other.ref.kind === "Secret") && other.ref.apiVersion === "v1" && !holdsSopsMask(other.object),
    )
    .filter((other) => wanted.has(`${other.ref.kind}/${other.ref.namespace ?? ""}/${other.ref.name}`))
    .map((other) => other.object);
  // A valuesFrom source this cluster does not render (created outside Git) or cannot read (SOPS):
  // its values are not known here, so it is left out as if optional, and said so.
  const unresolved: string[] = [];
  if (Array.isArray(spec["valuesFrom"])) {
    for (const ref of spec["valuesFrom"]) {
      if (!isRecord(ref)) continue;
      const found = cluster.find(
        (other) => other.ref.kind === ref["kind"] && other.ref.name === ref["name"] && other.ref.namespace === namespace,
      );
      if (found && !holdsSopsMask(found.object)) continue;
      if (ref["optional"] !== true) unresolved.push(`${String(ref["kind"])}/${String(ref["name"])}`);
      ref["optional"] = true;
    }
  }
  const request: ReleaseRender = {
    id: String(index),
    helmRelease,
    sources: sources.map((other) => other.object),
    objects,
    localGitRepositories: localGitRepositories(fleet),
    apiVersions: apiVersionsOf(before),
    ...(options.kubeVersion ? { kubeVersion: options.kubeVersion } : {}),
  };
  return { overlay: result, manifest, request, unresolved };
}

/** Kind/namespace/name of the ConfigMaps and Secrets a release may read: valuesFrom, and every source's secretRef. */
function referencedObjects(spec: Record<string, unknown>, namespace: string, sources: readonly Manifest[]): string[] {
  const out: string[] = [];
  if (Array.isArray(spec["valuesFrom"])) {
    for (const ref of spec["valuesFrom"]) if (isRecord(ref)) out.push(`${String(ref["kind"])}/${namespace}/${String(ref["name"])}`);
  }
  for (const source of sources) {
    const sourceSpec = isRecord(source.object["spec"]) ? source.object["spec"] : {};
    const secretRef = isRecord(sourceSpec["secretRef"]) ? sourceSpec["secretRef"] : undefined;
    if (typeof secretRef?.["name"] === "string") out.push(`Secret/${source.ref.namespace ?? ""}/${secretRef["name"]}`);
  }
  return out;
}

/** host[:port] of every OCI chart source (a HelmRepository of type oci, an OCIRepository) rendered. */
function registryHosts(rendered: readonly RenderedOverlay[]): string[] {
  const hosts = new Set<string>();
  for (const result of rendered) {
    for (const manifest of result.manifests) {
      if (
        apiGroupOf(manifest.ref.apiVersion) !== SOURCE_GROUP ||
        (manifest.ref.kind !== "HelmRepository" && manifest.ref.kind !== "OCIRepository")
      )
        continue;
      const spec = isRecord(manifest.object["spec"]) ? manifest.object["spec"] : {};
      if (typeof spec["url"] !== "string" || !spec["url"].startsWith("oci://")) continue;
      try {
        hosts.add(new URL(spec["url"].replace(/^oci:/, "http:")).host);
      } catch {
        // an invalid URL is the engine's finding
      }
    }
  }
  return [...hosts];
}

/** The GitRepositories that are this repository: the one bootstrap creates, and every one a rendered Kustomization reads. */
function localGitRepositories(fleet: Fleet): string[] {
  const names = new Set(["flux-system/flux-system"]);
  for (const overlay of fleet.overlays) {
    const spec = isRecord(overlay.flux?.object?.["spec"]) ? overlay.flux.object["spec"] : undefined;
    const ref = spec && isRecord(spec["sourceRef"]) ? spec["sourceRef"] : undefined;
    if (ref?.["kind"] === "GitRepository" && typeof ref["name"] === "string") {
      names.add(`${typeof ref["namespace"] === "string" ? ref["namespace"] : (overlay.flux?.namespace ?? "flux-system")}/${ref["name"]}`);
    }
  }
  return [...names];
}

/** group/version and group/version/Kind of every served version of the CRDs rendered so far. */
function apiVersionsOf(manifests: readonly Manifest[]): string[] {
  const out = new Set<string>();
  for (const manifest of manifests) {
    if (manifest.ref.kind !== "CustomResourceDefinition") continue;
    const spec = isRecord(manifest.object["spec"]) ? manifest.object["spec"] : {};
    const names = isRecord(spec["names"]) ? spec["names"] : {};
    if (typeof spec["group"] !== "string" || !Array.isArray(spec["versions"])) continue;
    for (const version of spec["versions"]) {
      if (!isRecord(version) || typeof version["name"] !== "string" || version["served"] === false) continue;
      out.add(`${spec["group"]}/${version["name"]}`);
      if (typeof names["kind"] === "string") out.add(`${spec["group"]}/${version["name"]}/${names["kind"]}`);
    }
  }
  return [...out].sort();
}

function manifestsOf(item: Pending, release: ReleaseResult, environment: readonly Manifest[]): Manifest[] {
  if (release.error !== undefined) return [];
  const clusterScoped = new Set(CLUSTER_SCOPED);
  for (const manifest of [...environment, ...release.objects.map((object) => ({ ref: resourceRefOf(object), object }))]) {
    const spec = isRecord(manifest.object["spec"]) ? manifest.object["spec"] : {};
    const names = isRecord(spec["names"]) ? spec["names"] : {};
    if (manifest.ref.kind === "CustomResourceDefinition" && spec["scope"] === "Cluster" && typeof names["kind"] === "string")
      clusterScoped.add(names["kind"]);
  }
  const chart = release.chart ? `${release.chart.name} ${release.chart.version}` : "";
  const helmRelease: ResourceRef = {
    apiVersion: item.manifest.ref.apiVersion,
    kind: "HelmRelease",
    name: item.manifest.ref.name,
    ...(item.manifest.ref.namespace ? { namespace: item.manifest.ref.namespace } : {}),
  };
  const secret = new Set(release.secretValues ?? []);
  const plainValues = new Set(stringsOf(release.values).filter((value) => !secret.has(value)));
  return release.objects.map((object) => {
    const metadata = isRecord(object["metadata"]) ? object["metadata"] : (object["metadata"] = {});
    // Helm applies a namespaced object that names no namespace in the release namespace.
    if (typeof metadata["namespace"] !== "string" && !clusterScoped.has(String(object["kind"])) && release.namespace)
      metadata["namespace"] = release.namespace;
    return {
      ref: resourceRefOf(object),
      object,
      ...(item.manifest.origin ? { origin: item.manifest.origin } : {}),
      chart: { helmRelease, chart, plainValues },
    };
  });
}

async function findingsOf(
  item: Pending,
  release: ReleaseResult,
  locator: SourceLocator,
  rendered: readonly RenderedOverlay[],
): Promise<Finding[]> {
  const { overlay } = item.overlay;
  const ref = item.manifest.ref;
  const file = item.manifest.origin?.file ?? overlay.path;
  const line = item.manifest.origin ? await locator.lineOf(file, ref) : undefined;
  const scope = { environment: overlay.environment, layer: overlay.layer, resource: ref, file, ...(line ? { line } : {}) };
  const name = `HelmRelease ${ref.namespace ? `${ref.namespace}/` : ""}${ref.name}`;
  const chart = describeChart(item.request.helmRelease);
  const findings: Finding[] = [];
  if (item.unresolved.length > 0) {
    findings.push({
      ...scope,
      severity: "info",
      check: "helm/values-from-unknown",
      message: `valuesFrom ${item.unresolved.join(", ")} is not known here (not rendered by this cluster, or encrypted), so the chart was rendered without its values`,
      hint: "an object created outside Git cannot be known; a SOPS-encrypted Secret's values are never read by the render",
    });
  }
  if (release.error === undefined) return findings;
  const message = release.error;
  switch (release.errorKind) {
    case "values-schema":
      for (const violation of release.schemaErrors ?? [{ path: "", message, from: { kind: "values" as const } }]) {
        findings.push({
          ...(await whereValueCameFrom(item, violation, scope, locator, rendered)),
          severity: "error",
          check: "helm/values-schema",
          message: `the values of ${name} break the values.schema.json of chart ${release.chart ? `${release.chart.name} ${release.chart.version}` : chart}: ${violation.path ? `at ${violation.path}: ` : ""}${violation.message} (${describeOrigin(violation.from)})`,
          hint: 'helm-controller refuses to install or upgrade the release with these values ("Helm chart values are invalid"); fix the value, or the chart version it is checked against',
        });
      }
      if ((release.schemaErrors ?? []).length === 0)
        findings.push({ ...scope, severity: "error", check: "helm/values-schema", message: message });
      return findings;
    case "template":
      return [
        ...findings,
        {
          ...scope,
          severity: "error",
          check: "helm/template",
          message: `chart ${release.chart ? `${release.chart.name} ${release.chart.version}` : chart} fails to render: ${message}`,
          hint: "helm-controller fails the install with this error",
        },
      ];
    case "source-not-found":
      // It may be created outside Git (Terraform, a bootstrap script), or by a layer not rendered in this run.
      return [
        ...findings,
        {
          ...scope,
          severity: "warning",
          check: "helm/source-not-found",
          message: `chart ${chart} was not rendered, so what it creates was not checked: ${message}`,
          hint: "define the chart's source in the repository; a source created outside Git cannot be read here",
        },
      ];
    case "fetch":
      return [
        ...findings,
        {
          ...scope,
          severity: "error",
          check: "helm/chart-fetch",
          message: `chart ${chart} cannot be fetched: ${message}`,
          hint: "helm-controller waits for the chart's artifact and never installs the release; check the source's URL, the chart name and version",
        },
      ];
    case "offline-miss":
      return [
        ...findings,
        {
          ...scope,
          severity: "warning",
          check: "helm/chart-not-cached",
          message: `chart ${chart} was not rendered, so what it creates was not checked: ${message}`,
          hint: "run once without --offline (with the same --cache-dir) to fill the chart cache",
        },
      ];
    case "source-unsupported":
      return [
        ...findings,
        {
          ...scope,
          severity: "warning",
          check: "helm/source-not-rendered",
          message: `${message}; what the chart creates was not checked`,
          hint: "vendor the chart into this repository (a chart path of its GitRepository), or use an HTTP or OCI HelmRepository or an OCIRepository with credentials from a secretRef or the CI variables",
        },
      ];
    case "values-reference":
      return [
        ...findings,
        {
          ...scope,
          severity: "error",
          check: "helm/values-from",
          message: message,
          hint: "helm-controller fails the release when a valuesFrom reference that is not optional cannot be resolved",
        },
      ];
    default:
      return [...findings, { ...scope, severity: "error", check: "helm/chart", message: `chart ${chart}: ${message}` }];
  }
}

function describeChart(helmRelease: Record<string, unknown>): string {
  const spec = isRecord(helmRelease["spec"]) ? helmRelease["spec"] : {};
  const template = isRecord(spec["chart"]) && isRecord(spec["chart"]["spec"]) ? spec["chart"]["spec"] : undefined;
  if (template) {
    const source = isRecord(template["sourceRef"]) ? template["sourceRef"] : {};
    return `${scalarText(template["chart"])}${template["version"] ? ` ${scalarText(template["version"])}` : ""} (${scalarText(source["kind"])} ${scalarText(source["name"])})`;
  }
  const ref = isRecord(spec["chartRef"]) ? spec["chartRef"] : {};
  return `(${String(ref["kind"])} ${String(ref["name"])})`;
}

function describeOrigin(origin: { kind: string; file?: string; ref?: string }): string {
  switch (origin.kind) {
    case "values":
      return "set in spec.values";
    case "valuesFrom":
      return `from valuesFrom ${origin.ref ?? ""}`;
    case "valuesFile":
      return `from the values file ${origin.file ?? ""}`;
    default:
      return `the chart's default in ${origin.file ?? "values.yaml"}`;
  }
}

/** The file and line where the offending value is written: the HelmRelease's spec.values, the valuesFrom object, or a values file. */
async function whereValueCameFrom(
  item: Pending,
  violation: { path: string; from: { kind: string; file?: string; ref?: string } },
  scope: { file: string; line?: number },
  locator: SourceLocator,
  rendered: readonly RenderedOverlay[],
): Promise<{ environment: string; layer: string; resource: ResourceRef; file: string; line?: number }> {
  const base = { environment: item.overlay.overlay.environment, layer: item.overlay.overlay.layer, resource: item.manifest.ref };
  const fieldPath = pointerToFieldPath(violation.path);
  if (violation.from.kind === "values" && item.manifest.origin) {
    // The overlay's own files first: a patch there sets the value for this environment only.
    const field = ["spec", "values", ...fieldPath];
    for (const file of await overlayYamlFiles(locator.root, item.overlay.overlay.path)) {
      const line = await locator.fieldLineOf(file, item.manifest.ref, field);
      if (line) return { ...base, file, line };
    }
    const line = await locator.lineOf(item.manifest.origin.file, item.manifest.ref, field);
    return { ...base, file: item.manifest.origin.file, ...(line ? { line } : {}) };
  }
  if (violation.from.kind === "valuesFrom" && violation.from.ref) {
    const [kindName, key] = violation.from.ref.split(" ");
    const [kind, name] = (kindName ?? "").split("/");
    const source = rendered
      .filter((result) => result.overlay.environment === item.overlay.overlay.environment)
      .flatMap((result) => result.manifests)
      .find(
        (manifest) => manifest.ref.kind === kind && manifest.ref.name === name && manifest.ref.namespace === item.manifest.ref.namespace,
      );
    if (source?.origin) {
      const line = await locator.lineOf(source.origin.file, source.ref, ["data", key ?? "values.yaml"]);
      return { ...base, resource: source.ref, file: source.origin.file, ...(line ? { line } : {}) };
    }
  }
  if (violation.from.kind === "valuesFile" && violation.from.file && !violation.from.file.includes("://")) {
    return { ...base, file: violation.from.file };
  }
  return { ...base, file: scope.file, ...(scope.line ? { line: scope.line } : {}) };
}

function stringsOf(node: unknown, out: string[] = []): string[] {
  if (typeof node === "string") {
    if (node !== "") out.push(node);
  } else if (Array.isArray(node)) {
    for (const item of node) stringsOf(item, out);
  } else if (isRecord(node)) {
    for (const item of Object.values(node)) stringsOf(item, out);
  }
  return out;
}

async function overlayYamlFiles(root: string, overlayPath: string): Promise<string[]> {
  try {
    const entries = await readdir(path.join(root, overlayPath), { withFileTypes: true });
    return entries
      .filter((entry) => entry.isFile() && /\.ya?ml$/.test(entry.name) && !/^kustomization\.ya?ml$/.test(entry.name))
      .map((entry) => path.posix.join(overlayPath, entry.name))
      .sort();
  } catch {
    return [];
  }
}
