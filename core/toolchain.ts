// Finds the external binaries: PATH first, then the project's tools folder filled by toolchain/install.sh.
import { access, readFile } from "node:fs/promises";
import { constants } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { UserError } from "./errors.ts";

export interface ToolSpec {
  name: string;
  /** Folder under toolchain/ whose go.mod pins it (for gitops-ci's own programs: their source). */
  pinDir: string;
  /** Module whose version is the pin; none for gitops-ci's own programs, built from their source. */
  module?: string;
  versionArgs: readonly string[];
}

export const TOOLS: readonly ToolSpec[] = [
  { name: "kustomize", pinDir: "kustomize", module: "sigs.k8s.io/kustomize/kustomize/v5", versionArgs: ["version"] },
  { name: "kubeconform", pinDir: "kubeconform", module: "github.com/yannh/kubeconform", versionArgs: ["-v"] },
  { name: "sops", pinDir: "sops", module: "github.com/getsops/sops/v3", versionArgs: ["--version", "--disable-version-check"] },
  { name: "age", pinDir: "age", module: "filippo.io/age", versionArgs: ["--version"] },
  { name: "age-keygen", pinDir: "age", module: "filippo.io/age", versionArgs: ["--version"] },
  { name: "helm", pinDir: "helm", module: "helm.sh/helm/v4", versionArgs: ["version", "--short"] },
  // Ours: renders Flux Kustomizations with Flux's own packages; built from toolchain/engine.
  { name: "gitops-ci-engine", pinDir: "engine", versionArgs: ["version"] },
];

/**
 * Test-only: the Flux CLI, the oracle the tests compare renders with (`flux build kustomization`).
 * Not in TOOLS: no task runs it, the task image does not ship it and `doctor` does not ask for
 * it. `npm run setup:oracle` (`bash toolchain/install.sh oracle`) builds it.
 */
export const FLUX_PIN: ToolSpec = {
  name: "flux",
  pinDir: "flux",
  module: "github.com/fluxcd/flux2/v2",
  versionArgs: ["version", "--client"],
};

export const PROJECT_ROOT = fileURLToPath(new URL("..", import.meta.url));

export type ToolSource = "PATH" | "tools folder";

export interface ToolLocation {
  name: string;
  path: string;
  source: ToolSource;
}

export interface Toolchain {
  toolsDir: string;
  locate(name: string): Promise<ToolLocation>;
  /** Resolves a tool to an executable path; throws a UserError naming the install command. */
  resolve(name: string): Promise<string>;
}

export function defaultToolsDir(env: Record<string, string | undefined>): string {
  return env["GITOPS_CI_TOOLS_DIR"] ?? path.join(PROJECT_ROOT, ".tools");
}

export function createToolchain(env: Record<string, string | undefined>, toolsDir = defaultToolsDir(env)): Toolchain {
  const cache = new Map<string, Promise<ToolLocation>>();
  const searchPath = (env["PATH"] ?? "").split(path.delimiter).filter(Boolean);

  async function find(name: string): Promise<ToolLocation> {
    if (path.isAbsolute(name)) return { name, path: name, source: "PATH" };
    for (const dir of searchPath) {
      const candidate = path.join(dir, name);
      if (await isExecutable(candidate)) return { name, path: candidate, source: "PATH" };
    }
    const candidate = path.join(toolsDir, "bin", name);
    if (await isExecutable(candidate)) return { name, path: candidate, source: "tools folder" };
    const known = TOOLS.find((tool) => tool.name === name);
    throw new UserError(`${name} was not found on PATH or in ${path.join(toolsDir, "bin")}`, {
      hint: known
        ? `install the pinned toolchain with \`npm run setup\` (or \`bash toolchain/install.sh ${known.name}\`)`
        : name === FLUX_PIN.name || name === "registry"
          ? `build the test-only tools (the Flux CLI, the OCI registry) with \`npm run setup:oracle\` (\`bash toolchain/install.sh oracle\`)`
          : `install ${name} and put it on PATH`,
    });
  }

  return {
    toolsDir,
    locate(name) {
      let found = cache.get(name);
      if (!found) {
        found = find(name);
        cache.set(name, found);
        // A failed lookup is retried next time: the user may install the tool meanwhile.
        found.catch(() => cache.delete(name));
      }
      return found;
    },
    async resolve(name) {
      return (await this.locate(name)).path;
    },
  };
}

/** The Kubernetes release of the local test cluster: also the default for validation. */
export const KUBERNETES_PIN: ToolSpec = {
  name: "kube-apiserver",
  pinDir: "cluster/kubernetes",
  module: "k8s.io/kubernetes",
  versionArgs: ["--version"],
};

/** The Kubernetes version validated against when neither config nor command line names one. */
export async function defaultKubernetesVersion(root = PROJECT_ROOT): Promise<string> {
  const pinned = await pinnedVersion(KUBERNETES_PIN, root);
  if (!pinned)
    throw new UserError("cannot read the pinned Kubernetes version from toolchain/cluster/kubernetes/go.mod", {
      hint: "pass --kubernetes-version or set kubernetesVersion in gitops-ci.yaml",
    });
  return pinned.replace(/^v/, "");
}

/** The version a tool is pinned to, read from its go.mod: the single source of versions. */
export async function pinnedVersion(tool: ToolSpec, root = PROJECT_ROOT): Promise<string | undefined> {
  if (tool.module === undefined) return undefined;
  const goMod = path.join(root, "toolchain", tool.pinDir, "go.mod");
  let text: string;
  try {
    text = await readFile(goMod, "utf8");
  } catch {
    return undefined;
  }
  for (const line of text.split("\n")) {
    const match = /^\s*(?:require\s+)?(\S+)\s+(v\S+)/.exec(line);
    if (match && match[1] === tool.module) return match[2];
  }
  return undefined;
}

async function isExecutable(file: string): Promise<boolean> {
  try {
    await access(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
