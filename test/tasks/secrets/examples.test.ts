// The bundled examples are what a user tries first: the secrets checks must not cry wolf on them.
import { describe, expect, it } from "vitest";
import { render } from "../../../tasks/render/index.ts";
import { captureContext } from "../../helpers/context.ts";
import { examplePath } from "../../helpers/temp-repo.ts";
import { runCheck } from "./setup.ts";

async function renderExample(root: string) {
  const { context } = captureContext(root);
  return (await render(context, { dir: root })).rendered;
}

describe("checkSecrets on the examples", () => {
  it("layout A (SOPS + age): no errors or warnings; with the example key every file decrypts", async () => {
    const root = examplePath("examples/layout-a");
    const rendered = await renderExample(root);
    const withoutKey = await runCheck(root, { rendered });
    expect(withoutKey.findings.filter((f) => f.severity !== "info")).toEqual([]);
    expect(withoutKey.decryption).toBe("skipped-no-key");
    expect(withoutKey.findings).toContainEqual(expect.objectContaining({ check: "secrets/decryption-skipped" }));

    const withKey = await runCheck(root, { rendered, env: { SOPS_AGE_KEY_FILE: "example-age-key.txt" } });
    expect(withKey.decryption).toBe("checked");
    expect(withKey.stderr()).toContain("6 decrypted");
    // The committed key is the documented example key: reported as info, not as an error.
    expect(withKey.findings).toEqual([
      expect.objectContaining({ severity: "info", check: "secrets/private-key", file: "example-age-key.txt" }),
    ]);
  });

  it("layout B (SealedSecrets): no findings", async () => {
    const root = examplePath("examples/layout-b");
    const { findings } = await runCheck(root, { rendered: await renderExample(root) });
    expect(findings).toEqual([]);
  });
});
