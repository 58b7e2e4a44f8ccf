// The no-leak guarantee over generated input: fast-check builds fleets, valid and broken, plants
// canary values in random secret-bearing places (some of them shaped to break YAML or kustomize),
// runs every repository command and scans stdout, stderr and every artifact for each canary in
// every form it can leak in. A failure prints its seed: GITOPS_CI_PROPERTY_SEED=<seed> replays it,
// GITOPS_CI_PROPERTY_RUNS=<n> runs more cases (CI runs a few, bounded in time).
import { mkdtemp, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { overlayPath, smallFleet } from "../helpers/small-fleet.ts";
import { writeTree, type Tree } from "../helpers/temp-repo.ts";
import { findLeak, runCommands } from "./leak-scan.ts";

const SEED = Number(process.env["GITOPS_CI_PROPERTY_SEED"] ?? 20261201);
const RUNS = Number(process.env["GITOPS_CI_PROPERTY_RUNS"] ?? 5);

/** Where a canary sits; each writes it into the fleet's prod apps overlay. */
const PLACEMENTS = [
  "secret-stringData",
  "secret-data",
  "secret-multiline",
  "secret-list-item",
  "generator-literal",
  "generator-literal-typo",
  "generator-env",
  "generator-file",
  "sealed-template",
] as const;
type Placement = (typeof PLACEMENTS)[number];

/** Shapes that break parsers: a flow indicator, an alias, a tag, an inner ": ", a newline. */
const SHAPES = ["plain", "brace", "alias", "anchor", "tag", "bracket", "colon", "newline", "quote"] as const;
type Shape = (typeof SHAPES)[number];

const BREAKAGES = ["none", "unresolved-alias", "missing-resource", "broken-kustomization", "symlink-loop", "tab-indent"] as const;
type Breakage = (typeof BREAKAGES)[number];

interface Canary {
  placement: Placement;
  shape: Shape;
  /** Whether the YAML holding it quotes it (valid) or writes it raw (may break the file). */
  quoted: boolean;
  core: string;
}

interface GeneratedFleet {
  envs: string[];
  canaries: Canary[];
  breakage: Breakage;
}

function valueOf(canary: Canary): string {
  const core = `canary-${canary.core}`;
  switch (canary.shape) {
    case "plain":
      return core;
    case "brace":
      return `}${core}`;
    case "alias":
      return `*${core}`;
    case "anchor":
      return `&${core} ${core}-tail`;
    case "tag":
      return `!${core}`;
    case "bracket":
      return `[${core}`;
    case "colon":
      return `${core}: ${core}-after`;
    case "newline":
      return `${core}-first\n${core}-second`;
    case "quote":
      return `"${core}`;
  }
}

/** As the placement writes the value in YAML: JSON-quoted, or raw where the generator chose so. */
function yamlScalar(canary: Canary): string {
  const value = valueOf(canary);
  return canary.quoted ? JSON.stringify(value) : value.replaceAll("\n", " ");
}

const canaryArbitrary = fc.record({
  placement: fc.constantFrom(...PLACEMENTS),
  shape: fc.constantFrom(...SHAPES),
  quoted: fc.boolean(),
  core: fc.string({ unit: fc.constantFrom(...Array.from("0123456789abcdef")), minLength: 10, maxLength: 14 }),
});

const fleetArbitrary: fc.Arbitrary<GeneratedFleet> = fc.record({
  envs: fc.constantFrom(["prod"], ["prod", "staging"]),
  canaries: fc.uniqueArray(canaryArbitrary, { minLength: 1, maxLength: 3, selector: (canary) => canary.core }),
  breakage: fc.constantFrom(...BREAKAGES),
});

function fleetTree(fleet: GeneratedFleet): Tree {
  const tree = smallFleet(fleet.envs);
  const apps = overlayPath("apps", "prod");
  const resources = ["../../base"];
  const generators: string[] = [];
  fleet.canaries.forEach((canary, index) => {
    const value = valueOf(canary);
    const file = `planted-${index}.yaml`;
    const secret = (body: string) => `apiVersion: v1\nkind: Secret\nmetadata:\n  name: planted-${index}\n  namespace: ingress\n${body}`;
    switch (canary.placement) {
      case "secret-stringData":
        tree[`${apps}/${file}`] = secret(`stringData:\n  password: ${yamlScalar(canary)}\n`);
        resources.push(file);
        break;
      case "secret-data":
        tree[`${apps}/${file}`] = secret(`data:\n  password: ${Buffer.from(value).toString("base64")}\n`);
        resources.push(file);
        break;
      case "secret-multiline":
        tree[`${apps}/${file}`] = secret(
          `stringData:\n  key.pem: |\n    -----BEGIN KEY-----\n${value
            .split("\n")
            .map((line) => `    ${line}`)
            .join("\n")}\n    -----END KEY-----\n`,
        );
        resources.push(file);
        break;
      case "secret-list-item":
        // Not where Kubernetes wants it: invalid, and still secret material.
        tree[`${apps}/${file}`] = secret(`stringData:\n  - ${yamlScalar(canary)}\n`);
        resources.push(file);
        break;
      case "generator-literal":
        generators.push(`  - name: literal-${index}\n    namespace: ingress\n    literals:\n      - ${JSON.stringify(`token=${value}`)}\n`);
        break;
      case "generator-literal-typo":
        generators.push(`  - name: typo-${index}\n    namespace: ingress\n    literals:\n      - ${JSON.stringify(`token ${value}`)}\n`);
        break;
      case "generator-env":
        tree[`${apps}/secrets-${index}.env`] = `TOKEN=${value.replaceAll("\n", " ")}\n`;
        generators.push(`  - name: env-${index}\n    namespace: ingress\n    envs: [secrets-${index}.env]\n`);
        break;
      case "generator-file":
        tree[`${apps}/key-${index}.pem`] = `-----BEGIN KEY-----\n${value}\n-----END KEY-----\n`;
        generators.push(`  - name: file-${index}\n    namespace: ingress\n    files: [key.pem=key-${index}.pem]\n`);
        break;
      case "sealed-template":
        tree[`${apps}/${file}`] = [
          "apiVersion: bitnami.com/v1alpha1",
          "kind: SealedSecret",
          "metadata:",
          `  name: sealed-${index}`,
          "  namespace: ingress",
          "spec:",
          "  encryptedData:",
          `    password: ${"A".repeat(88)}`,
          "  template:",
          "    stringData:",
          `      url: ${yamlScalar(canary)}`,
          "",
        ].join("\n");
        resources.push(file);
        break;
    }
  });
  if (fleet.breakage === "missing-resource") resources.push("not-there.yaml");
  tree[`${apps}/kustomization.yaml`] =
    `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n${resources.map((resource) => `  - ${resource}\n`).join("")}nameSuffix: -prod\n` +
    (generators.length > 0 ? `secretGenerator:\n${generators.join("")}` : "") +
    (fleet.breakage === "broken-kustomization" ? "patches: {not: [a list\n" : "");
  if (fleet.breakage === "unresolved-alias")
    tree["gitops/flux/apps/base/service.yaml"] =
      tree["gitops/flux/apps/base/service.yaml"]! + "  labels: *nowhere\n".replace("  labels", "metadataLabels");
  if (fleet.breakage === "tab-indent")
    tree["gitops/flux/infrastructure/configs/base/configmap.yaml"] =
      tree["gitops/flux/infrastructure/configs/base/configmap.yaml"]! + "\tbroken: true\n";
  return tree;
}

/** Each command a repository run has, with the exit codes it may end in: never 3, never a crash. */
function commands(root: string, out: string) {
  return [
    { label: "plan", args: ["plan", root], allowed: [0, 1] },
    { label: "render", args: ["render", root, "--out", path.join(out, "render")], allowed: [0, 1] },
    // A planted canary is plaintext in Git: check must fail, whatever else is broken.
    { label: "check", args: ["check", root, "--out", path.join(out, "check")], allowed: [1] },
    {
      label: "report --dry-run",
      args: ["report", "--from", path.join(out, "check"), "--dry-run", path.join(out, "note", "note.md"), "--out", path.join(out, "note")],
      allowed: [0],
    },
    { label: "diff (no cluster)", args: ["diff", root, "--out", path.join(out, "diff")], allowed: [2] },
  ];
}

describe("no secret value reaches any output, for generated fleets", () => {
  it("holds for random valid and broken fleets with canaries in random secret-bearing places", async () => {
    await fc.assert(
      fc.asyncProperty(fleetArbitrary, async (fleet) => {
        const root = await mkdtemp(path.join(tmpdir(), "gitops-ci-property-"));
        const out = await mkdtemp(path.join(tmpdir(), "gitops-ci-property-out-"));
        try {
          await writeTree(root, fleetTree(fleet));
          if (fleet.breakage === "symlink-loop") await symlink("loop.yaml", path.join(root, overlayPath("apps", "prod"), "loop.yaml"));
          const env = { PATH: process.env["PATH"], HOME: process.env["HOME"], KUBECONFIG: path.join(out, "no-such-kubeconfig") };
          const runs = commands(root, out);
          const transcript = await runCommands(root, env, runs, out);
          for (const [index, outcome] of transcript.outcomes.entries()) {
            expect(runs[index]!.allowed, `${outcome.label} exited ${outcome.exitCode}:\n${outcome.output.slice(0, 2000)}`).toContain(
              outcome.exitCode,
            );
            expect(outcome.output, `${outcome.label} crashed`).not.toMatch(/internal error/);
          }
          expect(transcript.artifacts.some((file) => file.endsWith("report.json"))).toBe(true);
          for (const canary of fleet.canaries) {
            const value = valueOf(canary);
            const leak = findLeak(transcript.text, value) ?? findLeak(transcript.text, `canary-${canary.core}`);
            expect(leak, `${canary.placement}/${canary.shape}${canary.quoted ? "/quoted" : ""} canary leaked as ${leak}`).toBeUndefined();
          }
        } finally {
          await rm(root, { recursive: true, force: true });
          await rm(out, { recursive: true, force: true });
        }
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
  }, 600_000);
});
