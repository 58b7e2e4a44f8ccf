// Namespaces and CRDs that a layer of the change brings but the cluster does not have yet. An
// object that needs one of them cannot be dry-run applied; it waits on the layer that brings it.
import { apiGroupOf, type Manifest } from "../manifests.ts";
import { isRecord } from "../yaml-file.ts";
import { crdDefines, isCustomResourceDefinition, isNamespace } from "./flux.ts";
import type { ObjectAction } from "../model/object-changes.ts";

export interface Provider {
  layer: string;
  /** What provides it, e.g. `Namespace apps` or `HelmRelease cert-manager/cert-manager (chart cert-manager)`. */
  what: string;
}

export class PendingDefinitions {
  readonly #namespaces = new Map<string, Provider>();
  readonly #kinds = new Map<string, Provider & { versions: string[] }>();
  readonly #groups = new Map<string, Provider>();
  readonly #chartGroups: Readonly<Record<string, readonly string[]>>;

  constructor(providedBy: Readonly<Record<string, readonly string[]>> = {}) {
    this.#chartGroups = { ...providedBy };
  }

  /** Records what a rendered object will bring once its layer is applied. */
  record(manifest: Manifest, action: ObjectAction, layer: string): void {
    if (action !== "create" && action !== "update" && action !== "wait") return;
    if (isNamespace(manifest) && action !== "update") {
      this.#namespaces.set(manifest.ref.name, { layer, what: `Namespace ${manifest.ref.name}` });
    } else if (isCustomResourceDefinition(manifest)) {
      const defined = crdDefines(manifest.object);
      if (defined)
        this.#kinds.set(`${defined.group}/${defined.kind}`, {
          layer,
          what: `CustomResourceDefinition ${manifest.ref.name}`,
          versions: defined.versions,
        });
    } else if (manifest.ref.kind === "HelmRelease" && apiGroupOf(manifest.ref.apiVersion) === "helm.toolkit.fluxcd.io") {
      const chart = chartOf(manifest.object);
      for (const group of chart ? (this.#chartGroups[chart] ?? []) : []) {
        this.#groups.set(group, {
          layer,
          what: `HelmRelease ${manifest.ref.namespace ? `${manifest.ref.namespace}/` : ""}${manifest.ref.name} (chart ${chart})`,
        });
      }
    }
  }

  namespace(name: string): Provider | undefined {
    return this.#namespaces.get(name);
  }

  /** Who brings a kind the cluster does not serve: a CRD object, or a chart known to install its group's CRDs. */
  kind(apiVersion: string, kind: string): Provider | undefined {
    const group = apiGroupOf(apiVersion);
    const version = apiVersion.slice(apiVersion.indexOf("/") + 1);
    const crd = this.#kinds.get(`${group}/${kind}`);
    if (crd && (crd.versions.length === 0 || crd.versions.includes(version))) return crd;
    return this.#groups.get(group);
  }
}

function chartOf(helmRelease: Record<string, unknown>): string | undefined {
  const spec = isRecord(helmRelease["spec"]) ? helmRelease["spec"] : {};
  const chart = isRecord(spec["chart"]) ? spec["chart"] : {};
  const chartSpec = isRecord(chart["spec"]) ? chart["spec"] : {};
  return typeof chartSpec["chart"] === "string" ? chartSpec["chart"] : undefined;
}
