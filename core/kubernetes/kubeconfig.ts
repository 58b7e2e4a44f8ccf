// Which cluster to talk to and as whom, read the way kubectl reads it: KUBECONFIG (several files,
// the first to define a name wins), or ~/.kube/config; current-context or a named context. A GitLab
// agent for Kubernetes context is an ordinary context named `<agent-project-path>:<agent-name>`.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { parse } from "yaml";
import { UserError } from "../errors.ts";
import { proxyFor, proxySettingsFromEnv } from "../http/proxy.ts";
import type { ProcessRunner } from "../process-runner.ts";
import { isRecord, scalarText } from "../yaml-file.ts";
import { runExecCredential } from "./exec-credential.ts";

/** Everything needed to open a TLS connection to one API server as one identity. */
export interface ClusterConnection {
  contextName: string;
  server: string;
  /** PEM of the CAs to trust; undefined: the system's. */
  ca?: string;
  insecureSkipTlsVerify: boolean;
  tlsServerName?: string;
  token?: string;
  clientCertificate?: string;
  clientKey?: string;
  /**
   * The HTTP(S) proxy the connection tunnels through: the cluster's `proxy-url`, else the
   * environment's HTTPS_PROXY unless NO_PROXY (or loopback) exempts the server, as client-go does.
   */
  proxyUrl?: string;
  /** The context's default namespace, for namespaced objects that name none. */
  namespace: string;
}

export interface KubeconfigOptions {
  env: Readonly<Record<string, string | undefined>>;
  /** A context name; default: current-context. */
  context?: string;
  /** Runs a user's `exec` credential plugin (EKS, GKE and AKS kubeconfigs use one). */
  runner?: ProcessRunner;
}

interface NamedEntry {
  name: string;
  value: Record<string, unknown>;
  /** Folder of the kubeconfig file that defined it: relative paths are resolved against it. */
  dir: string;
}

interface MergedKubeconfig {
  files: string[];
  currentContext?: string;
  clusters: Map<string, NamedEntry>;
  users: Map<string, NamedEntry>;
  contexts: Map<string, NamedEntry>;
}

/** The files KUBECONFIG names (in order), or ~/.kube/config. */
export function kubeconfigFiles(env: Readonly<Record<string, string | undefined>>): string[] {
  const variable = env["KUBECONFIG"];
  if (variable && variable.trim() !== "") return variable.split(path.delimiter).filter((file) => file.trim() !== "");
  const home = env["HOME"];
  if (!home)
    throw new UserError("no kubeconfig: KUBECONFIG is not set and HOME is unknown", { hint: "set KUBECONFIG to your kubeconfig file" });
  return [path.join(home, ".kube", "config")];
}

export async function loadClusterConnection(options: KubeconfigOptions): Promise<ClusterConnection> {
  const merged = await loadMergedKubeconfig(kubeconfigFiles(options.env));
  const connection = await resolveConnection(merged, options.context, options.runner);
  if (connection.proxyUrl !== undefined) return connection;
  const fromEnv = proxyFor(new URL(connection.server), proxySettingsFromEnv(options.env));
  return fromEnv ? { ...connection, proxyUrl: fromEnv.href } : connection;
}

async function loadMergedKubeconfig(files: readonly string[]): Promise<MergedKubeconfig> {
  const merged: MergedKubeconfig = { files: [], clusters: new Map(), users: new Map(), contexts: new Map() };
  let readAny = false;
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (error) {
      // kubectl ignores KUBECONFIG entries that do not exist; so do we, unless none exists.
      if ((error as NodeJS.ErrnoException).code === "ENOENT") continue;
      throw new UserError(`cannot read kubeconfig ${file}: ${(error as Error).message}`, { cause: error });
    }
    readAny = true;
    merged.files.push(file);
    let document: unknown;
    try {
      document = parse(text);
    } catch (error) {
      throw new UserError(`kubeconfig ${file} is not valid YAML: ${(error as Error).message.split("\n")[0]}`, { file, cause: error });
    }
    if (document === null || document === undefined) continue;
    if (!isRecord(document)) throw new UserError(`kubeconfig ${file} is not a mapping`, { file });
    const dir = path.dirname(path.resolve(file));
    if (merged.currentContext === undefined && typeof document["current-context"] === "string" && document["current-context"] !== "") {
      merged.currentContext = document["current-context"];
    }
    for (const [key, field] of [
      ["clusters", "cluster"],
      ["users", "user"],
      ["contexts", "context"],
    ] as const) {
      const list = document[key];
      if (list === undefined || list === null) continue;
      if (!Array.isArray(list)) throw new UserError(`kubeconfig ${file}: ${key} must be a list`, { file });
      for (const item of list) {
        if (!isRecord(item) || typeof item["name"] !== "string")
          throw new UserError(`kubeconfig ${file}: every entry of ${key} needs a name`, { file });
        const target = merged[key];
        if (target.has(item["name"])) continue; // the first file to define a name wins
        target.set(item["name"], { name: item["name"], value: isRecord(item[field]) ? item[field] : {}, dir });
      }
    }
  }
  if (!readAny) {
    throw new UserError(`no kubeconfig found (looked for ${files.join(", ")})`, {
      hint: "set KUBECONFIG; in GitLab CI, share a GitLab agent for Kubernetes with the project and GitLab sets KUBECONFIG for the job",
    });
  }
  return merged;
}

async function resolveConnection(
  merged: MergedKubeconfig,
  wanted: string | undefined,
  runner: ProcessRunner | undefined,
): Promise<ClusterConnection> {
  const contextName = wanted ?? merged.currentContext;
  const known = [...merged.contexts.keys()];
  if (!contextName) {
    throw new UserError(`the kubeconfig (${merged.files.join(", ")}) has no current-context`, {
      hint:
        known.length > 0
          ? `name one in gitops-ci.yaml (environments[].kubeContext) or with --context; known contexts: ${known.join(", ")}`
          : "the kubeconfig defines no context",
    });
  }
  const context = merged.contexts.get(contextName);
  if (!context) {
    throw new UserError(`kubeconfig context "${contextName}" not found in ${merged.files.join(", ")}`, {
      hint:
        known.length > 0
          ? `known contexts: ${known.join(", ")}`
          : "the kubeconfig defines no context; a GitLab agent context is named <agent-project-path>:<agent-name>",
    });
  }
  const clusterName = scalarText(context.value["cluster"]);
  const userName = scalarText(context.value["user"]);
  const cluster = merged.clusters.get(clusterName);
  if (!cluster) throw new UserError(`kubeconfig context "${contextName}" names cluster "${clusterName}", which is not defined`);
  const user = userName === "" ? undefined : merged.users.get(userName);
  if (userName !== "" && !user) throw new UserError(`kubeconfig context "${contextName}" names user "${userName}", which is not defined`);

  const server = cluster.value["server"];
  if (typeof server !== "string" || !/^https?:\/\//.test(server)) {
    throw new UserError(`kubeconfig cluster "${clusterName}" has no https server URL`, {
      hint: "clusters[].cluster.server must be like https://host:6443",
    });
  }
  if (user?.value["auth-provider"] !== undefined) {
    throw new UserError(`kubeconfig user "${userName}" authenticates with auth-provider, which gitops-ci does not run`, {
      hint: "use an exec credential plugin (such as kubelogin or gke-gcloud-auth-plugin), a token or a client certificate",
    });
  }
  const proxyUrl = cluster.value["proxy-url"];
  if (proxyUrl !== undefined && (typeof proxyUrl !== "string" || !/^https?:\/\//.test(proxyUrl))) {
    throw new UserError(
      `kubeconfig cluster "${clusterName}" has proxy-url ${JSON.stringify(proxyUrl)}; gitops-ci supports http:// and https:// proxies`,
    );
  }

  const ca = await dataOrFile(cluster, "certificate-authority-data", "certificate-authority");
  const exec = user && isRecord(user.value["exec"]) ? user.value["exec"] : undefined;
  if (user && user.value["exec"] !== undefined && !exec) throw new UserError(`kubeconfig user "${userName}": exec must be a mapping`);
  const fromExec =
    exec && user
      ? await runExecCredential({
          userName,
          exec,
          kubeconfigDir: user.dir,
          runner,
          cluster: {
            server,
            ...(ca !== undefined ? { ca } : {}),
            insecureSkipTlsVerify: cluster.value["insecure-skip-tls-verify"] === true,
            clusterConfig: cluster.value,
          },
        })
      : undefined;
  const token =
    fromExec?.token ??
    (typeof user?.value["token"] === "string" ? user.value["token"] : user ? await fileText(user, "tokenFile") : undefined);
  const clientCertificate =
    fromExec?.clientCertificate ?? (user ? await dataOrFile(user, "client-certificate-data", "client-certificate") : undefined);
  const clientKey = fromExec?.clientKey ?? (user ? await dataOrFile(user, "client-key-data", "client-key") : undefined);
  if ((clientCertificate === undefined) !== (clientKey === undefined)) {
    throw new UserError(`kubeconfig user "${userName}" has a client certificate without its key, or a key without its certificate`);
  }
  return {
    contextName,
    server: server.replace(/\/+$/, ""),
    ...(ca !== undefined ? { ca } : {}),
    insecureSkipTlsVerify: cluster.value["insecure-skip-tls-verify"] === true,
    ...(typeof cluster.value["tls-server-name"] === "string" ? { tlsServerName: cluster.value["tls-server-name"] } : {}),
    ...(token !== undefined ? { token: token.trim() } : {}),
    ...(clientCertificate !== undefined ? { clientCertificate } : {}),
    ...(clientKey !== undefined ? { clientKey } : {}),
    ...(typeof proxyUrl === "string" ? { proxyUrl } : {}),
    namespace: typeof context.value["namespace"] === "string" && context.value["namespace"] !== "" ? context.value["namespace"] : "default",
  };
}

async function dataOrFile(entry: NamedEntry, dataKey: string, fileKey: string): Promise<string | undefined> {
  const data = entry.value[dataKey];
  if (typeof data === "string" && data !== "") return Buffer.from(data, "base64").toString("utf8");
  return fileText(entry, fileKey);
}

async function fileText(entry: NamedEntry, key: string): Promise<string | undefined> {
  const file = entry.value[key];
  if (typeof file !== "string" || file === "") return undefined;
  const absolute = path.resolve(entry.dir, file);
  try {
    return await readFile(absolute, "utf8");
  } catch (error) {
    throw new UserError(
      `kubeconfig entry "${entry.name}": cannot read ${key} ${absolute}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
      { cause: error },
    );
  }
}
