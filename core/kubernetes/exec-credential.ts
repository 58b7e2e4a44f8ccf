// A kubeconfig user's `exec` credential plugin, run the way client-go runs it
// (k8s.io/client-go/plugin/pkg/client/auth/exec): KUBERNETES_EXEC_INFO describes the request, the
// plugin prints an ExecCredential, and its status gives a bearer token or a client certificate.
import path from "node:path";
import { ToolError, UserError } from "../errors.ts";
import type { ProcessRunner } from "../process-runner.ts";
import { isRecord, scalarText } from "../yaml-file.ts";

const API_VERSIONS = ["client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1"];
const EXEC_TIMEOUT_MS = 60_000;

export interface ExecCredentialRequest {
  userName: string;
  exec: Record<string, unknown>;
  /** Folder of the kubeconfig that defined the user: a command with a slash is relative to it. */
  kubeconfigDir: string;
  runner: ProcessRunner | undefined;
  cluster: { server: string; ca?: string; insecureSkipTlsVerify: boolean; clusterConfig: Record<string, unknown> };
}

export interface ExecCredentialResult {
  token?: string;
  clientCertificate?: string;
  clientKey?: string;
}

export async function runExecCredential(request: ExecCredentialRequest): Promise<ExecCredentialResult> {
  const { exec, userName } = request;
  const where = `kubeconfig user "${userName}"`;
  const apiVersion = exec["apiVersion"];
  if (typeof apiVersion !== "string" || !API_VERSIONS.includes(apiVersion)) {
    throw new UserError(`${where}: exec apiVersion ${JSON.stringify(apiVersion)} is not one of ${API_VERSIONS.join(", ")}`);
  }
  const command = exec["command"];
  if (typeof command !== "string" || command === "") throw new UserError(`${where}: exec has no command`);
  // As clientcmd's ResolveLocalPaths: only a command naming a path is relative to the kubeconfig.
  const executable = command.includes("/") ? path.resolve(request.kubeconfigDir, command) : command;
  const args = Array.isArray(exec["args"]) ? exec["args"].map(String) : [];
  const env: Record<string, string> = {};
  for (const entry of Array.isArray(exec["env"]) ? exec["env"] : []) {
    if (isRecord(entry) && typeof entry["name"] === "string") env[entry["name"]] = scalarText(entry["value"]);
  }
  if (exec["interactiveMode"] === "Always") {
    throw new UserError(`${where}: exec plugin ${command} needs interactiveMode Always, and a CI job has no terminal`, {
      hint: "configure the plugin for non-interactive use (for example a service account or workload identity)",
    });
  }
  env["KUBERNETES_EXEC_INFO"] = JSON.stringify({
    apiVersion,
    kind: "ExecCredential",
    spec: { interactive: false, ...(exec["provideClusterInfo"] === true ? { cluster: clusterInfo(request.cluster) } : {}) },
  });
  if (!request.runner) throw new UserError(`${where} authenticates with an exec plugin, which this command cannot run`);

  const hint = typeof exec["installHint"] === "string" ? exec["installHint"] : `install ${command} and put it on PATH`;
  let result;
  try {
    result = await request.runner.run(executable, args, { env, timeoutMs: EXEC_TIMEOUT_MS });
  } catch (error) {
    if (error instanceof UserError || error instanceof ToolError)
      throw new UserError(`${where}: exec plugin ${command} could not run: ${error.message}`, { hint, cause: error });
    throw error;
  }
  if (result.exitCode !== 0) {
    throw new UserError(`${where}: exec plugin ${command} exited with ${result.exitCode}`, { hint: lastLine(result.stderr) ?? hint });
  }
  let credential: unknown;
  try {
    credential = JSON.parse(result.stdout);
  } catch {
    throw new UserError(`${where}: exec plugin ${command} did not print an ExecCredential as JSON`);
  }
  if (!isRecord(credential) || credential["kind"] !== "ExecCredential" || credential["apiVersion"] !== apiVersion) {
    throw new UserError(`${where}: exec plugin ${command} printed no ExecCredential of ${apiVersion}`);
  }
  const status = isRecord(credential["status"]) ? credential["status"] : {};
  const text = (key: string) => (typeof status[key] === "string" && status[key] !== "" ? status[key] : undefined);
  const token = text("token");
  const clientCertificate = text("clientCertificateData");
  const clientKey = text("clientKeyData");
  if ((clientCertificate === undefined) !== (clientKey === undefined))
    throw new UserError(`${where}: exec plugin ${command} gave a client certificate without its key, or a key without its certificate`);
  if (token === undefined && clientCertificate === undefined)
    throw new UserError(`${where}: exec plugin ${command} gave neither a token nor a client certificate`);
  return {
    ...(token !== undefined ? { token } : {}),
    ...(clientCertificate !== undefined ? { clientCertificate, clientKey: clientKey! } : {}),
  };
}

function clusterInfo(cluster: ExecCredentialRequest["cluster"]): Record<string, unknown> {
  const config = cluster.clusterConfig;
  const extensions: unknown[] = Array.isArray(config["extensions"]) ? config["extensions"] : [];
  const execExtension = extensions.find((entry) => isRecord(entry) && entry["name"] === "client.authentication.k8s.io/exec");
  return {
    server: cluster.server,
    ...(typeof config["tls-server-name"] === "string" ? { "tls-server-name": config["tls-server-name"] } : {}),
    ...(cluster.insecureSkipTlsVerify ? { "insecure-skip-tls-verify": true } : {}),
    ...(cluster.ca !== undefined ? { "certificate-authority-data": Buffer.from(cluster.ca).toString("base64") } : {}),
    ...(typeof config["proxy-url"] === "string" ? { "proxy-url": config["proxy-url"] } : {}),
    ...(isRecord(execExtension) && execExtension["extension"] !== undefined ? { config: execExtension["extension"] } : {}),
  };
}

function lastLine(text: string): string | undefined {
  const lines = text
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean);
  return lines.at(-1);
}
