// A static Helm chart repository on loopback, as chart repositories are: charts made with
// `helm package` and an index made with `helm repo index` (relative URLs), served over HTTP by a
// plain file server. `/private/` serves the same files behind basic auth.
import { execFile } from "node:child_process";
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface ChartToServe {
  /** Folder of the chart's source. */
  dir: string;
  /** Versions to package (the Chart.yaml's version is rewritten); its own version when absent. */
  versions?: string[];
}

export interface HelmRepository {
  url: string;
  /** The packaged .tgz files and index.yaml. */
  dir: string;
  credentials: { username: string; password: string };
  requests: () => string[];
  close: () => Promise<void>;
}

/**
 * `helm package` of every chart version into `destination`, each from its own copy under
 * `work/src` (the Chart.yaml's version rewritten); returns the archives' paths.
 */
export async function packageCharts(
  helm: (args: readonly string[]) => Promise<string>,
  charts: readonly ChartToServe[],
  work: string,
  destination: string,
): Promise<string[]> {
  const archives: string[] = [];
  for (const chart of charts) {
    for (const version of chart.versions ?? [undefined]) {
      const source = path.join(work, "src", `${path.basename(chart.dir)}-${version ?? "own"}`);
      await cp(chart.dir, source, { recursive: true });
      if (version) {
        const file = path.join(source, "Chart.yaml");
        await writeFile(file, (await readFile(file, "utf8")).replace(/^version: .*$/m, `version: ${version}`));
      }
      // "Successfully packaged chart and saved it to: <path>"
      archives.push((await helm(["package", source, "--destination", destination])).trim().split(": ").pop()!);
    }
  }
  return archives;
}

export async function startHelmRepository(helm: string, charts: readonly ChartToServe[]): Promise<HelmRepository> {
  const work = await mkdtemp(path.join(tmpdir(), "gitops-ci-helm-repo-"));
  const dir = path.join(work, "repo");
  await mkdir(dir);
  await packageCharts(async (args) => (await run(helm, [...args])).stdout, charts, work, dir);
  await run(helm, ["repo", "index", dir]);
  const credentials = { username: "ci-reader", password: "canary-5b1e-helm-repository-password" };
  const requests: string[] = [];
  const server: Server = createServer((request, response) => {
    const url = new URL(request.url ?? "/", "http://localhost");
    requests.push(url.pathname);
    let file = decodeURIComponent(url.pathname);
    if (file.startsWith("/private/")) {
      const expected = `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString("base64")}`;
      if (request.headers.authorization !== expected) {
        response.writeHead(401, { "www-authenticate": 'Basic realm="charts"' }).end();
        return;
      }
      file = file.slice("/private".length);
    }
    const target = path.join(dir, path.normalize(file));
    if (request.method !== "GET" || !target.startsWith(dir + path.sep)) {
      response.writeHead(404).end();
      return;
    }
    readFile(target).then(
      (data) => response.writeHead(200, { "content-type": target.endsWith(".yaml") ? "application/yaml" : "application/gzip" }).end(data),
      () => response.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    dir,
    credentials,
    requests: () => [...requests],
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(work, { recursive: true, force: true });
    },
  };
}
