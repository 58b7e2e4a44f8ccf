// The no-leak guarantee for OCI registry credentials from CI variables: every repository command,
// through the real CLI, against the tests' private OCI registry (test/charts/oci-registry.ts), with
// the right password, a wrong one (the registry refuses: a finding) and a malformed Docker config
// JSON (exit 2); stdout, stderr and every artifact are scanned for each form of the secrets.
import path from "node:path";
import { describe, expect, inject, it } from "vitest";
import { REGISTRY_AUTH_CONFIG, registryVariablePrefix } from "../../core/flux/registry-auth.ts";
import { fleet, release } from "../charts/fleet.ts";
import { makeRepo, makeTempDir } from "../helpers/temp-repo.ts";
import { exitCodes, findLeak, runCommands } from "./leak-scan.ts";

describe("registry credentials from CI variables", () => {
  it("never show in any output or artifact, whether the registry accepts them or not", async () => {
    const host = inject("ociPrivateRegistry");
    const credentials = inject("ociCredentials");
    const root = await makeRepo(
      fleet({
        "repository.yaml": `apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata:\n  name: private\n  namespace: apps\nspec:\n  type: oci\n  interval: 1h\n  url: oci://${host}/charts\n  insecure: true\n`,
        "release.yaml": release(
          "webapp",
          '  chart:\n    spec:\n      chart: webapp\n      version: "1.x"\n      sourceRef:\n        kind: HelmRepository\n        name: private\n',
        ),
      }),
    );
    const prefix = registryVariablePrefix(host);
    const base = { PATH: process.env["PATH"], HOME: process.env["HOME"] };
    const wrong = "canary-3e9a-wrong-registry-password";
    const malformed = `{"auths": {"${host}": {"password": "canary-77b1-malformed-json"`;
    const cases = [
      {
        label: "accepted",
        env: { ...base, [`${prefix}_USERNAME`]: credentials.username, [`${prefix}_PASSWORD`]: credentials.password },
        secrets: [credentials.password],
        exit: 0,
      },
      {
        label: "refused",
        env: { ...base, [`${prefix}_USERNAME`]: credentials.username, [`${prefix}_PASSWORD`]: wrong },
        secrets: [wrong],
        exit: 1,
      },
      {
        label: "docker config",
        env: {
          ...base,
          [REGISTRY_AUTH_CONFIG]: JSON.stringify({
            auths: { [host]: { auth: Buffer.from(`${credentials.username}:${credentials.password}`).toString("base64") } },
          }),
        },
        secrets: [credentials.password, Buffer.from(`${credentials.username}:${credentials.password}`).toString("base64")],
        exit: 0,
      },
      { label: "malformed", env: { ...base, [REGISTRY_AUTH_CONFIG]: malformed }, secrets: ["canary-77b1-malformed-json"], exit: 2 },
    ];
    for (const { label, env, secrets, exit } of cases) {
      const out = await makeTempDir();
      const runs = [
        { label: "render", args: ["render", root, "--out", path.join(out, "render")] },
        { label: "check", args: ["check", root, "--out", path.join(out, "check")] },
        { label: "check --json", args: ["check", root, "--json"] },
      ];
      const transcript = await runCommands(root, env, runs, out);
      expect({ label, codes: exitCodes(transcript) }).toEqual({ label, codes: { render: exit, check: exit, "check --json": exit } });
      for (const secret of secrets) expect({ label, leak: findLeak(transcript.text, secret) }).toEqual({ label, leak: undefined });
      if (label === "refused") expect(transcript.text).toContain("helm/chart-fetch");
      if (label === "malformed") expect(transcript.text).toContain(`${REGISTRY_AUTH_CONFIG} is not valid JSON`);
      if (label === "accepted") expect(transcript.artifacts.some((file) => file.includes("rendered"))).toBe(true);
    }
  });
});
