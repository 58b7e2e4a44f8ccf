// When a repository needs a gitops-ci.yaml, and the commented file `init --write` writes. The
// clusters Flux bootstraps say everything themselves; the folder layouts need one when the Flux
// Kustomizations (and their dependsOn) live outside the repository's YAML, e.g. in Terraform, or
// when a layer's name does not say where it goes in the reconcile order.
import { readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Finding } from "../../core/model/findings.ts";
import type { Fleet } from "../../core/model/fleet.ts";
import { listRepoFiles } from "../../core/repo-files.ts";
import { promotionOrder } from "./ci-include.ts";

export interface ConfigReason {
  summary: string;
  /** Terraform files that declare Flux Kustomizations. */
  terraform: string[];
  /** Layers whose place in the order discovery could not tell. */
  unknownOrder: string[];
}

export const WRITTEN_CONFIG_FILE = "gitops-ci.yaml";

/** Terraform reading every .tf file would be a parser of its own: a Flux Kustomization in one is enough to say so. */
const TERRAFORM_KUSTOMIZATION =
  /kustomize\.toolkit\.fluxcd\.io\/[^"\s]*"?[\s\S]{0,400}?kind\s*=\s*"Kustomization"|kind\s*=\s*"Kustomization"[\s\S]{0,400}?kustomize\.toolkit\.fluxcd\.io/;
const MAX_TERRAFORM_BYTES = 1024 * 1024;

export async function configReason(root: string, fleet: Fleet, findings: readonly Finding[]): Promise<ConfigReason | undefined> {
  if (fleet.source !== "layout-a" && fleet.source !== "layout-b") return undefined;
  const terraform: string[] = [];
  for (const file of (await listRepoFiles(root)).filter((candidate) => candidate.endsWith(".tf")).sort()) {
    const absolute = path.join(root, file);
    if ((await stat(absolute)).size > MAX_TERRAFORM_BYTES) continue;
    if (TERRAFORM_KUSTOMIZATION.test(await readFile(absolute, "utf8"))) terraform.push(file);
  }
  const unknownOrder = findings
    .filter((finding) => finding.check === "fleet/unknown-layer-order" && finding.layer)
    .map((finding) => finding.layer!);
  if (terraform.length === 0 && unknownOrder.length === 0) return undefined;
  const parts = [
    ...(terraform.length
      ? [
          `Terraform declares the Flux Kustomizations (${terraform.length === 1 ? terraform[0] : `${terraform[0]} and ${terraform.length - 1} more`})`,
        ]
      : []),
    ...(unknownOrder.length ? [`the reconcile order of ${unknownOrder.join(", ")} is not known from the folder names`] : []),
  ];
  return { summary: parts.join("; "), terraform, unknownOrder };
}

/** Writes gitops-ci.yaml at the root: the layers in the order discovery found, every guess commented. */
export async function writeConfigFile(root: string, fleet: Fleet, reason: ConfigReason): Promise<string> {
  const lines = [
    "# gitops-ci.yaml, written by `gitops-ci init` (reference: docs/configuration.md of gitops-ci).",
    `# Needed here because ${reason.summary}.`,
    "apiVersion: gitops-ci/v1",
    "kind: Config",
    "# The layers, in reconcile order; dependsOn is what each Flux Kustomization waits for.",
  ];
  if (reason.terraform.length > 0) {
    lines.push("# gitops-ci does not read Terraform: check every dependsOn against the Kustomizations in");
    for (const file of reason.terraform) lines.push(`#   ${file}`);
  }
  lines.push("layers:");
  const width = Math.max(...fleet.layers.map((layer) => (layer.path ?? "").length));
  let previous: string | undefined;
  for (const layer of fleet.layers) {
    const guessed = reason.unknownOrder.includes(layer.name);
    const dependsOn = guessed ? (previous ? [previous] : []) : layer.dependsOn;
    lines.push(`  - name: ${layer.name}`);
    if (fleet.source === "layout-b") {
      lines.push(`    path: ${layer.path}`, `    overlays: clusters/{env}/${layer.name}   # the overlay of each environment`);
    } else {
      lines.push(`    path: ${(layer.path ?? "").padEnd(width)}   # base/ and overlays/<env>/`);
    }
    if (dependsOn.length > 0 || guessed) {
      lines.push(
        `    dependsOn: [${dependsOn.join(", ")}]${guessed ? "   # a guess: the folder name does not say where this layer goes" : ""}`,
      );
    }
    previous = layer.name;
  }
  lines.push("# Every environment's overlays; promote takes its default --from from this order.");
  lines.push(`environments: [${promotionOrder(fleet.environments.map((env) => env.name)).join(", ")}]`);
  lines.push(
    '# kubernetesVersion: "1.35.0"   # validate against this release (default: the version gitops-ci pins)',
    "# crds:",
    "#   preinstalled: [cilium.io]  # API groups installed before Flux (e.g. the CNI by Terraform)",
    "",
  );
  const file = WRITTEN_CONFIG_FILE;
  await writeFile(path.join(root, file), lines.join("\n"), { flag: "wx" });
  return file;
}
