// Long-running servers of the local cluster (etcd, kube-apiserver). The process runner
// (core/process-runner.ts) runs tools to completion; these must outlive the call that starts
// them, each in its own process group, so that stopping one stops everything it started.
import { spawn } from "node:child_process";
import { openSync, closeSync } from "node:fs";

export interface DaemonSpec {
  executable: string;
  args: readonly string[];
  /** stdout and stderr are appended here. */
  logFile: string;
  env: Record<string, string>;
  cwd?: string;
}

/** Starts a process in a new process group (its id is the pid) and lets it run on its own. */
export function startDaemon(spec: DaemonSpec): number {
  const log = openSync(spec.logFile, "a");
  try {
    const child = spawn(spec.executable, [...spec.args], {
      detached: true,
      stdio: ["ignore", log, log],
      env: spec.env,
      ...(spec.cwd ? { cwd: spec.cwd } : {}),
    });
    if (child.pid === undefined) throw new Error(`${spec.executable} could not be started`);
    child.unref();
    return child.pid;
  } finally {
    closeSync(log);
  }
}

/** True while any process of the group is alive (zombies of our own children excepted). */
export function isGroupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** SIGTERM to the group, SIGKILL after `graceMs`; resolves once no process of the group is left. */
export async function stopProcessGroup(pgid: number, graceMs = 10_000): Promise<"stopped" | "killed" | "not-running"> {
  if (!isGroupAlive(pgid)) return "not-running";
  signalGroup(pgid, "SIGTERM");
  if (await waitUntilGone(pgid, graceMs)) return "stopped";
  signalGroup(pgid, "SIGKILL");
  if (await waitUntilGone(pgid, 5_000)) return "killed";
  throw new Error(`process group ${pgid} is still alive after SIGKILL`);
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
  }
}

async function waitUntilGone(pgid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isGroupAlive(pgid)) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return !isGroupAlive(pgid);
}
