// One static Helm repository (test/charts/helm-repository.ts) for every *.charts.test.ts file of a
// run, on loopback, stopped when the run ends.
import path from "node:path";
import type { TestProject } from "vitest/node";
import { createToolchain, PROJECT_ROOT } from "../../core/toolchain.ts";
import { startHelmRepository } from "./helm-repository.ts";

declare module "vitest" {
  export interface ProvidedContext {
    helmRepositoryUrl: string;
    helmRepositoryDir: string;
    helmRepositoryCredentials: { username: string; password: string };
  }
}

export const FIXTURE_CHARTS = path.join(PROJECT_ROOT, "test/fixtures/charts");

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const helm = await createToolchain(process.env).resolve("helm");
  const repository = await startHelmRepository(helm, [
    { dir: path.join(FIXTURE_CHARTS, "webapp"), versions: ["1.0.0", "1.1.0", "2.0.0-rc.1"] },
    { dir: path.join(FIXTURE_CHARTS, "widgets") },
  ]);
  project.provide("helmRepositoryUrl", repository.url);
  project.provide("helmRepositoryDir", repository.dir);
  project.provide("helmRepositoryCredentials", repository.credentials);
  return () => repository.close();
}
