import { chmod, mkdir } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { SopsConfigResolver } from "../../../core/sops/creation-rules.ts";
import { smallFleet } from "../../helpers/small-fleet.ts";
import { makeRepo } from "../../helpers/temp-repo.ts";
import { runGitopsCiUnprivileged } from "../../helpers/unprivileged.ts";

const AGE = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p";

describe("SopsConfigResolver", () => {
  it("finds the nearest .sops.yaml, and none where there is none", async () => {
    const root = await makeRepo({
      "apps/.sops.yaml": `creation_rules:\n  - path_regex: secrets/\n    age: ${AGE}\n`,
      "apps/secrets/a.yaml": "a: b\n",
      "other/b.yaml": "b: c\n",
    });
    const resolver = new SopsConfigResolver(root);
    expect(await resolver.configFor("apps/secrets/a.yaml")).toMatchObject({
      file: "apps/.sops.yaml",
      dir: "apps",
      usable: true,
      findings: [],
    });
    expect(await resolver.configFor("other/b.yaml")).toBeUndefined();
  });

  it("takes a .sops.yaml folder as the unusable config it is for sops, with an error naming it", async () => {
    const root = await makeRepo({ "apps/secrets/a.yaml": "a: b\n", ".sops.yaml": `creation_rules:\n  - age: ${AGE}\n` });
    await mkdir(path.join(root, "apps/.sops.yaml"));
    const resolver = new SopsConfigResolver(root);
    const config = await resolver.configFor("apps/secrets/a.yaml");
    expect(config).toEqual({
      file: "apps/.sops.yaml",
      dir: "apps",
      usable: false,
      findings: [
        {
          severity: "error",
          check: "secrets/sops-config",
          file: "apps/.sops.yaml",
          message:
            "apps/.sops.yaml cannot be read (EISDIR): sops finds it and fails on every encrypt and decrypt run from below this folder, and its creation rules could not be checked",
          hint: ".sops.yaml must be a file: rename the folder",
        },
      ],
    });
    expect((await resolver.loadedConfigs()).map((loaded) => loaded.file)).toEqual(["apps/.sops.yaml"]);
  });

  it("reports a .sops.yaml it may not read as an error, not as no config", async () => {
    const root = await makeRepo({
      ...smallFleet(["prod"]),
      ".sops.yaml": `creation_rules:\n  - age: ${AGE}\n`,
      "secrets/a.yaml": "a: b\n",
    });
    const run = await runGitopsCiUnprivileged(root, ["check", "--json", root], () => chmod(path.join(root, ".sops.yaml"), 0o000));
    expect(run.exitCode, run.stderr).toBe(1);
    expect(JSON.parse(run.stdout).findings).toContainEqual(
      expect.objectContaining({
        severity: "error",
        check: "secrets/sops-config",
        file: ".sops.yaml",
        message: expect.stringContaining("(EACCES)"),
      }),
    );
  });
});
