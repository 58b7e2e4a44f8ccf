import { readFile } from "node:fs/promises";
import path from "node:path";
import { parseAllDocuments } from "yaml";
import { describe, expect, it } from "vitest";
import { copyOverlay, replaceEnvironmentName } from "../../../tasks/env/environment-copy.ts";
import { isSecretFile } from "../../../core/promote/environment-values.ts";
import { findMarkers } from "../../../core/promote/markers.ts";
import { serialize } from "../../../core/promote/yaml-workspace.ts";
import { isYamlFile, listRepoFiles, withoutChartFiles } from "../../../core/repo-files.ts";
import { examplePath } from "../../helpers/temp-repo.ts";
import { exampleOverlay } from "../../core/promote/overlay-files.ts";

const MARK = "# gitops-ci: set for qa (copied from staging)";

function copyOf(files: Record<string, string>, from = "staging") {
  return copyOverlay({ environment: from, dir: `overlays/${from}`, files: new Map(Object.entries(files)) }, "qa");
}

describe("copyOverlay", () => {
  it("marks addresses, host names and URLs, renames what carries the environment's name, leaves the rest", () => {
    const copy = copyOf({
      "kustomization.yaml":
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnameSuffix: -staging\nresources:\n  - ../../base\n  - staging-extras.yaml\ncommonLabels:\n  env: staging\n",
      "patch.yaml": [
        "# The issuer of staging.",
        "apiVersion: v1",
        "kind: ConfigMap",
        "metadata:",
        "  name: settings",
        "data:",
        "  host: app.staging.example.com # the public name",
        '  ip: "10.30.0.10"',
        "  issuer: https://acme-staging-v02.api.letsencrypt.org/directory",
        "  secretName: app-tls-staging",
        '  replicas: "2"',
        "  group: cert-manager.io",
        "",
      ].join("\n"),
      "README.md": "staging notes: 10.30.0.10\n",
    });
    expect(copy.files.get("kustomization.yaml")).toBe(
      "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnameSuffix: -qa\nresources:\n  - ../../base\n  - staging-extras.yaml\ncommonLabels:\n  env: qa\n",
    );
    expect(copy.files.get("patch.yaml")).toBe(
      [
        "# The issuer of staging.",
        "apiVersion: v1",
        "kind: ConfigMap",
        "metadata:",
        "  name: settings",
        "data:",
        `  host: app.staging.example.com ${MARK}; the public name`,
        `  ip: "10.30.0.10" ${MARK}`,
        `  issuer: https://acme-staging-v02.api.letsencrypt.org/directory ${MARK}`,
        "  secretName: app-tls-qa",
        '  replicas: "2"',
        "  group: cert-manager.io",
        "",
      ].join("\n"),
    );
    expect(copy.files.get("README.md")).toBe("staging notes: 10.30.0.10\n");
    expect(copy.renamed.map((entry) => `${entry.from} -> ${entry.to}`)).toEqual([
      "-staging -> -qa",
      "staging -> qa",
      "app-tls-staging -> app-tls-qa",
    ]);
  });

  it("marks inside inline patches, and secret files on their first line without touching their ciphertext", () => {
    const secret =
      "apiVersion: v1\nkind: Secret\nmetadata:\n    name: db\nstringData:\n    password: ENC[AES256_GCM,data:abc,type:str]\nsops:\n    version: 3.13.3\n";
    const copy = copyOf({
      "kustomization.yaml":
        "resources:\n  - secrets/db.yaml\npatches:\n  - patch: |\n      - op: replace\n        path: /spec/values/host\n        value: 10.30.0.10\n    target:\n      kind: HelmRelease\n      name: app\n",
      "secrets/db.yaml": secret,
    });
    expect(copy.files.get("secrets/db.yaml")).toBe(`${MARK}\n${secret}`);
    expect(copy.files.get("kustomization.yaml")).toContain(`        value: 10.30.0.10 ${MARK}\n    target:\n`);
    expect(findMarkers(copy.files.get("kustomization.yaml")!, "k.yaml")).toEqual([
      { file: "k.yaml", line: 7, environment: "qa", from: "staging", kind: "ip", value: "10.30.0.10" },
    ]);
  });

  it("replaces the markers of an environment that was itself a copy", () => {
    const first = copyOverlay(
      {
        environment: "staging",
        dir: "s",
        files: new Map([
          ["a.yaml", "host: a.example.com\n"],
          ["secrets/s.yaml", "kind: Secret\n"],
        ]),
      },
      "qa",
    );
    const second = copyOverlay({ environment: "qa", dir: "q", files: first.files }, "dev");
    expect(second.files.get("a.yaml")).toBe("host: a.example.com # gitops-ci: set for dev (copied from qa)\n");
    expect(second.files.get("secrets/s.yaml")).toBe("# gitops-ci: set for dev (copied from qa)\nkind: Secret\n");
  });

  it("leaves files with nothing environment-specific byte for byte as they were", async () => {
    const source = await exampleOverlay("examples/layout-a", "gitops/flux/apps/overlays/staging", "staging");
    const copy = copyOverlay(source, "qa");
    expect(copy.files.get("gitlab-resources-patch.yaml")).toBe(source.files.get("gitlab-resources-patch.yaml"));
    expect(copy.files.size).toBe(source.files.size);
  });

  it("renames the environment's name as a word only", () => {
    expect(replaceEnvironmentName("letsencrypt-prod-account-key", "prod", "qa")).toBe("letsencrypt-qa-account-key");
    expect(replaceEnvironmentName("production", "prod", "qa")).toBe("production");
  });
});

describe("findMarkers", () => {
  it("reads the value and kind of each marked line", () => {
    const text = [MARK, `domain: "gitlab.staging.example.com" ${MARK}`, `  - 10.30.0.0/24 ${MARK}`, "plain: value", `name: x ${MARK}`].join(
      "\n",
    );
    expect(findMarkers(text, "f.yaml").map((marker) => [marker.line, marker.kind, marker.value])).toEqual([
      [1, "secret", ""],
      [2, "hostname", "gitlab.staging.example.com"],
      [3, "cidr", "10.30.0.0/24"],
      [5, "value", "x"],
    ]);
  });
});

describe("YAML edits keep the file's own style", () => {
  // Secret files are never written again (their ciphertext and MAC are sops's), so they are not here.
  it("writes every other YAML file of the examples back unchanged", async () => {
    for (const example of ["examples/layout-a", "examples/layout-b"]) {
      const root = examplePath(example);
      for (const file of withoutChartFiles(await listRepoFiles(root)).filter(isYamlFile)) {
        const text = await readFile(path.join(root, file), "utf8");
        if (isSecretFile(file, text)) continue;
        expect(serialize(parseAllDocuments(text) as never, text), `${example}/${file}`).toBe(text);
      }
    }
  });
});
