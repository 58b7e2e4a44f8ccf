import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Integration tests run real kustomize/kubeconform/sops binaries; give them room on 2 cores.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // *.cluster.test.ts run against one real local kube-apiserver (test/cluster/global-setup.ts),
    // started only when a run includes such a file.
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          exclude: ["**/node_modules/**", "test/**/*.cluster.test.ts", "test/**/*.charts.test.ts", "test/**/*.image.test.ts"],
        },
      },
      // *.charts.test.ts fetch charts from one static Helm repository and two OCI registries on loopback (test/charts/global-setup.ts).
      {
        test: {
          name: "charts",
          include: ["test/**/*.charts.test.ts"],
          globalSetup: ["test/charts/global-setup.ts"],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      // Not `extends: true`: that would merge the root `include` into this one (arrays concatenate).
      {
        test: {
          name: "cluster",
          include: ["test/**/*.cluster.test.ts"],
          globalSetup: ["test/cluster/global-setup.ts"],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      // *.image.test.ts test the task image that `npm run test:image` (docker/test-image.sh) has just built.
      { test: { name: "image", include: ["test/**/*.image.test.ts"], testTimeout: 300_000, hookTimeout: 900_000 } },
    ],
  },
});
