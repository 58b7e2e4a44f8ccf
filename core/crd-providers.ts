// Who installs which CRDs. A chart's come with its rendered HelmRelease; Flux's own components
// install theirs with Flux; `crds.providedBy` in gitops-ci.yaml names the groups of charts that are
// not rendered (a source that is not fetched).
/** Flux's own CRDs are installed by bootstrap, before any layer. */
export const FLUX_GROUP_SUFFIX = ".toolkit.fluxcd.io";

/** The Flux components and the API groups (or `Kind.group`) whose CRDs each one ships. */
export const FLUX_COMPONENTS: readonly { name: string; serves: readonly string[] }[] = [
  { name: "source-controller", serves: ["source.toolkit.fluxcd.io"] },
  { name: "kustomize-controller", serves: ["kustomize.toolkit.fluxcd.io"] },
  { name: "helm-controller", serves: ["helm.toolkit.fluxcd.io"] },
  { name: "notification-controller", serves: ["notification.toolkit.fluxcd.io"] },
  { name: "image-reflector-controller", serves: ["ImageRepository.image.toolkit.fluxcd.io", "ImagePolicy.image.toolkit.fluxcd.io"] },
  { name: "image-automation-controller", serves: ["ImageUpdateAutomation.image.toolkit.fluxcd.io"] },
  { name: "source-watcher", serves: ["source.extensions.fluxcd.io"] },
];

/** Whether Flux itself installs this group's CRDs (with the controllers, before any layer). */
export function isFluxGroup(group: string): boolean {
  return (
    group.endsWith(FLUX_GROUP_SUFFIX) ||
    FLUX_COMPONENTS.some((component) => component.serves.some((entry) => groupOfEntry(entry) === group))
  );
}

/** `ImagePolicy.image.toolkit.fluxcd.io` → `image.toolkit.fluxcd.io`; a group stays itself. */
function groupOfEntry(entry: string): string {
  return /^[A-Z]/.test(entry) ? entry.slice(entry.indexOf(".") + 1) : entry;
}

/** The Flux component whose CRD defines this kind, e.g. `notification-controller` for Alert. */
export function fluxComponentOf(group: string, kind: string): string | undefined {
  return FLUX_COMPONENTS.find((component) => component.serves.some((entry) => entry === group || entry === `${kind}.${group}`))?.name;
}

/** Chart names that install this group's CRDs, per `crds.providedBy`. */
export function chartsProviding(group: string, providedBy: Readonly<Record<string, readonly string[]>> = {}): string[] {
  const table = providedBy;
  return Object.keys(table)
    .filter((chart) => table[chart]!.includes(group))
    .sort();
}
