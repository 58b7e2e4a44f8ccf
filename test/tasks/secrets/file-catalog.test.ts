import { chmod, mkdir, truncate } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { FileCatalog, formatSize, MAX_INSPECTED_BYTES } from "../../../tasks/secrets/file-catalog.ts";
import { smallFleet } from "../../helpers/small-fleet.ts";
import { makeRepo } from "../../helpers/temp-repo.ts";
import { runGitopsCiUnprivileged } from "../../helpers/unprivileged.ts";

describe("FileCatalog", () => {
  it("inspects a file once, and says nothing about a file that is not there", async () => {
    const root = await makeRepo({ "apps/secret.yaml": "apiVersion: v1\nkind: Secret\n" });
    const catalog = new FileCatalog(root);
    expect(await catalog.get("apps/secret.yaml")).toMatchObject({ file: "apps/secret.yaml", text: "apiVersion: v1\nkind: Secret\n" });
    expect(catalog.get("apps/secret.yaml")).toBe(catalog.get("apps/secret.yaml"));
    expect(await catalog.get("apps/missing.env")).toBeUndefined();
    expect(catalog.uninspected).toEqual([]);
  });

  it("reports a file over the size limit as a warning with its size and the limit", async () => {
    const root = await makeRepo({ "assets/dump.yaml": "" });
    await truncate(path.join(root, "assets/dump.yaml"), MAX_INSPECTED_BYTES + 1);
    const catalog = new FileCatalog(root);
    expect(await catalog.get("assets/dump.yaml")).toBeUndefined();
    expect(catalog.uninspected).toEqual([
      {
        severity: "warning",
        check: "secrets/file-too-large",
        file: "assets/dump.yaml",
        message:
          "assets/dump.yaml is 8.0 MiB (8,388,609 bytes), over the 8 MiB the secrets checks read: it was not checked for plaintext secrets, private keys or sops encryption",
        hint: expect.stringContaining("no secret manifest or sops file is this large"),
      },
    ]);
  });

  it("reports a path that cannot be read as a file as an error", async () => {
    const root = await makeRepo({});
    await mkdir(path.join(root, "apps/secrets.env"), { recursive: true });
    const catalog = new FileCatalog(root);
    expect(await catalog.get("apps/secrets.env")).toBeUndefined();
    expect(catalog.uninspected).toEqual([
      expect.objectContaining({
        severity: "error",
        check: "secrets/unreadable-file",
        file: "apps/secrets.env",
        message: expect.stringMatching(/^apps\/secrets\.env cannot be read \(EISDIR\): it was not checked/),
      }),
    ]);
  });

  it("reports a file without read permission as an error", async () => {
    const root = await makeRepo({ ...smallFleet(["prod"]), "apps/secrets/token.yaml": "kind: Secret\n" });
    const run = await runGitopsCiUnprivileged(root, ["check", "--json", root], () =>
      chmod(path.join(root, "apps/secrets/token.yaml"), 0o000),
    );
    expect(run.exitCode, run.stderr).toBe(1);
    expect(JSON.parse(run.stdout).findings).toContainEqual(
      expect.objectContaining({
        severity: "error",
        check: "secrets/unreadable-file",
        file: "apps/secrets/token.yaml",
        message: expect.stringContaining("(EACCES)"),
        hint: expect.stringContaining("readable"),
      }),
    );
  });

  it("writes sizes exactly where a rounded one would hide the excess", () => {
    expect(formatSize(MAX_INSPECTED_BYTES)).toBe("8 MiB");
    expect(formatSize(13_107_200)).toBe("12.5 MiB (13,107,200 bytes)");
  });
});
