// The CRDs of schemas/crd-sources.txt (Flux, cert-manager, Cilium, Sealed Secrets) installed into
// the local cluster, from the same pinned Go modules the committed schemas come from.
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseAllDocuments } from "yaml";
import { UserError } from "../core/errors.ts";
import type { ApiResource, KubeObject, KubernetesClient } from "../core/kubernetes/client.ts";
import { createProcessRunner } from "../core/process-runner.ts";
import { createToolchain, PROJECT_ROOT } from "../core/toolchain.ts";
import { isRecord } from "../core/yaml-file.ts";
import { buildEnv } from "./local-cluster.ts";

interface CrdSource {
  module: string;
  version: string;
  globs: string[];
}

export function parseCrdSources(text: string): CrdSource[] {
  const byModule = new Map<string, CrdSource>();
  for (const raw of text.split("\n")) {
    const line = raw.replace(/#.*/, "").trim();
    if (line === "") continue;
    const [module, version, ...globs] = line.split(/\s+/);
    if (!module || !version || globs.length === 0) continue;
    const key = `${module}@${version}`;
    const entry = byModule.get(key) ?? { module, version, globs: [] };
    entry.globs.push(...globs);
    byModule.set(key, entry);
  }
  return [...byModule.values()];
}

/** Every CRD object the pinned modules ship, read from Go's module cache (downloaded if needed). */
export async function pinnedCrds(env: Readonly<Record<string, string | undefined>>): Promise<KubeObject[]> {
  const sources = parseCrdSources(await readFile(path.join(PROJECT_ROOT, "schemas", "crd-sources.txt"), "utf8"));
  const toolchain = createToolchain({ ...env });
  const runner = createProcessRunner({ env: buildEnv(env), resolveTool: (tool) => toolchain.resolve(tool) });
  // Outside any go.mod, so no module's requirements get in the way (as schemas/generate.sh does).
  const workDir = await mkdtemp(path.join(tmpdir(), "gitops-ci-crds-"));
  try {
    const crds: KubeObject[] = [];
    for (const source of sources) {
      const result = await runner.run("go", ["mod", "download", "-json", `${source.module}@${source.version}`], {
        cwd: workDir,
        timeoutMs: 10 * 60_000,
      });
      let dir: string | undefined;
      try {
        dir = (JSON.parse(result.stdout) as { Dir?: string }).Dir;
      } catch {
        dir = undefined;
      }
      if (result.exitCode !== 0 || !dir) {
        throw new UserError(`cannot download ${source.module}@${source.version} for its CRDs`, {
          hint: result.stdout.trim() || result.stderr.trim(),
        });
      }
      for (const glob of source.globs) {
        for (const file of await matchGlob(dir, glob)) {
          for (const document of parseAllDocuments(await readFile(file, "utf8"))) {
            const object: unknown = document.toJS();
            if (isRecord(object) && object["kind"] === "CustomResourceDefinition") crds.push(withoutTemplatedMetadata(object));
          }
        }
      }
    }
    return crds;
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

/** cert-manager ships its CRDs as Helm templates: labels like `{{ .Release.Name }}` are left out. */
function withoutTemplatedMetadata(crd: KubeObject): KubeObject {
  const metadata = isRecord(crd["metadata"]) ? crd["metadata"] : {};
  for (const field of ["labels", "annotations"]) {
    const values = metadata[field];
    if (!isRecord(values)) continue;
    for (const [key, value] of Object.entries(values))
      if (typeof value !== "string" || value.includes("{{") || key.includes("{{")) delete values[key];
  }
  return crd;
}

/** `dir/sub/*.yaml`: a `*` in the last segment only, which is all crd-sources.txt uses. */
async function matchGlob(root: string, glob: string): Promise<string[]> {
  const dir = path.join(root, path.dirname(glob));
  const pattern = new RegExp(
    `^${path
      .basename(glob)
      .replace(/[.+^${}()|[\]\\]/g, "\\$&")
      .replace(/\*/g, "[^/]*")}$`,
  );
  const entries = await readdir(dir);
  return entries
    .filter((name) => pattern.test(name))
    .sort()
    .map((name) => path.join(dir, name));
}

/** Applies CRDs (server-side, as an admin) and waits until every one is Established. */
export async function installCrds(client: KubernetesClient, crds: readonly KubeObject[], timeoutMs = 60_000): Promise<void> {
  const resource = await crdResource(client);
  await Promise.all(
    crds.map((crd) => client.apply(resource, crd, { fieldManager: "gitops-ci-local-cluster", dryRun: false, force: true })),
  );
  const deadline = Date.now() + timeoutMs;
  for (const crd of crds) {
    const name = String((crd["metadata"] as Record<string, unknown>)["name"]);
    for (;;) {
      const live = await client.get(resource, name);
      if (live && isEstablished(live)) break;
      if (Date.now() > deadline) throw new Error(`CRD ${name} is not Established after ${timeoutMs / 1000}s`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

async function crdResource(client: KubernetesClient): Promise<ApiResource> {
  const resource = await client.resourceFor("apiextensions.k8s.io/v1", "CustomResourceDefinition");
  if (!resource) throw new Error("the API server does not serve apiextensions.k8s.io/v1");
  return resource;
}

export function isEstablished(crd: KubeObject): boolean {
  const status = isRecord(crd["status"]) ? crd["status"] : {};
  const conditions = Array.isArray(status["conditions"]) ? status["conditions"].filter(isRecord) : [];
  return conditions.some((condition) => condition["type"] === "Established" && condition["status"] === "True");
}
