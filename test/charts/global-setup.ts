// One static Helm repository (test/charts/helm-repository.ts) and two OCI registries
// (test/charts/oci-registry.ts) for every *.charts.test.ts file of a run, on loopback, stopped when
// the run ends.
import path from "node:path";
import type { TestProject } from "vitest/node";
import { createToolchain, PROJECT_ROOT } from "../../core/toolchain.ts";
import { startHelmRepository, type ChartToServe } from "./helm-repository.ts";
import { startOciRegistries } from "./oci-registry.ts";

declare module "vitest" {
  export interface ProvidedContext {
    helmRepositoryUrl: string;
    helmRepositoryDir: string;
    helmRepositoryCredentials: { username: string; password: string };
    /** host:port of the open OCI registry and of the one behind basic auth; charts are at oci://<host>/charts/<name>. */
    ociRegistry: string;
    ociPrivateRegistry: string;
    ociCredentials: { username: string; password: string };
  }
}

export const FIXTURE_CHARTS = path.join(PROJECT_ROOT, "test/fixtures/charts");

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const toolchain = createToolchain(process.env);
  const helm = await toolchain.resolve("helm");
  const charts: ChartToServe[] = [
    { dir: path.join(FIXTURE_CHARTS, "webapp"), versions: ["1.0.0", "1.1.0", "2.0.0-rc.1"] },
    { dir: path.join(FIXTURE_CHARTS, "widgets") },
  ];
  const repository = await startHelmRepository(helm, charts);
  const registries = await startOciRegistries(await toolchain.resolve("registry"), helm, charts).catch(async (error: unknown) => {
    await repository.close();
    throw error;
  });
  project.provide("helmRepositoryUrl", repository.url);
  project.provide("helmRepositoryDir", repository.dir);
  project.provide("helmRepositoryCredentials", repository.credentials);
  project.provide("ociRegistry", registries.open);
  project.provide("ociPrivateRegistry", registries.private);
  project.provide("ociCredentials", registries.credentials);
  return async () => {
    await Promise.all([repository.close(), registries.close()]);
  };
}
