// Runs one command for the benchmark and measures it as a whole: wall time, and the peak of the
// summed resident memory of the process and every descendant (gitops-ci's Node process, its
// engine and kubeconform children), sampled from /proc. getrusage and `time -v` report only the
// largest single process, which misses engines running side by side.
import { readdir, readFile } from "node:fs/promises";
import { execa } from "execa";

export interface MeasuredRun {
  seconds: number;
  exitCode: number;
  /** Peak of the summed RSS of the tree, in bytes; undefined without /proc (not Linux). */
  peakRssBytes: number | undefined;
  /** Most processes alive at one sample. */
  peakProcesses: number;
  stdout: string;
  stderr: string;
}

export interface MeasureOptions {
  cwd: string;
  env: Record<string, string | undefined>;
  sampleMs?: number;
}

export async function runMeasured(file: string, args: readonly string[], options: MeasureOptions): Promise<MeasuredRun> {
  const started = performance.now();
  const child = execa(file, [...args], {
    cwd: options.cwd,
    env: options.env,
    extendEnv: false,
    reject: false,
    maxBuffer: 512 * 1024 * 1024,
  });
  const procAvailable = await readdir("/proc").then(
    () => true,
    () => false,
  );
  let peakRssBytes = 0;
  let peakProcesses = 0;
  let done = false;
  const sampler = (async () => {
    // `done` is set once the child ends, which narrowing cannot see.
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition
    while (!done && procAvailable && child.pid !== undefined) {
      const sample = await treeRss(child.pid);
      peakRssBytes = Math.max(peakRssBytes, sample.bytes);
      peakProcesses = Math.max(peakProcesses, sample.processes);
      await new Promise((resolve) => setTimeout(resolve, options.sampleMs ?? 100));
    }
  })();
  const result = await child;
  done = true;
  await sampler;
  return {
    seconds: (performance.now() - started) / 1000,
    exitCode: result.exitCode ?? -1,
    peakRssBytes: procAvailable ? peakRssBytes : undefined,
    peakProcesses,
    stdout: result.stdout,
    stderr: result.stderr,
  };
}

/** The summed VmRSS of `root` and its descendants at this moment. */
async function treeRss(root: number): Promise<{ bytes: number; processes: number }> {
  const parents = new Map<number, number>();
  for (const name of await readdir("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const stat = await readFile(`/proc/${name}/stat`, "utf8").catch(() => "");
    // pid (comm) state ppid ...: comm may hold spaces and parentheses, so read after the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    if (Number.isInteger(ppid)) parents.set(Number(name), ppid);
  }
  const tree = new Set([root]);
  for (let grew = true; grew;) {
    grew = false;
    for (const [pid, ppid] of parents) {
      if (!tree.has(pid) && tree.has(ppid)) {
        tree.add(pid);
        grew = true;
      }
    }
  }
  let bytes = 0;
  for (const pid of tree) {
    const status = await readFile(`/proc/${pid}/status`, "utf8").catch(() => "");
    const kb = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
    if (kb) bytes += Number(kb) * 1024;
  }
  return { bytes, processes: tree.size };
}
