// The HTML page of `diff --against` in a real headless Chromium (Debian's, which .ci/run installs):
// it loads with no console error, lists the changed objects, switches views, and holds no Secret value.
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { chromium } from "playwright-core";
import { describe, expect, it } from "vitest";
import { diffAgainst, GIT_DIFF_FILES } from "../../../tasks/diff/against.ts";
import { captureContext } from "../../helpers/context.ts";
import { layerPath, overlayPath, smallFleet } from "../../helpers/small-fleet.ts";
import { makeGitRepo, makeTempDir } from "../../helpers/temp-repo.ts";
import { branch, write } from "../../core/changes/git-steps.ts";

const CHROMIUM = process.env["CHROMIUM_PATH"] ?? "/usr/bin/chromium";
const SECRET_BEFORE = "page-old-password-1234";
const SECRET_AFTER = "page-new-password-5678";

const secretOverlay = (password: string) =>
  `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../../base\nnameSuffix: -prod\ngeneratorOptions:\n  disableNameSuffixHash: true\nsecretGenerator:\n  - name: db\n    namespace: ingress\n    literals:\n      - password=${password}\n`;

describe("git-diff.html", () => {
  it("loads in Chromium with no console error, lists every changed object, shows both views, and no Secret value", async () => {
    expect(existsSync(CHROMIUM), `${CHROMIUM} is missing: .ci/run installs Debian's chromium`).toBe(true);
    const tree = smallFleet(["prod", "staging"]);
    tree[`${overlayPath("apps", "prod")}/kustomization.yaml`] = secretOverlay(SECRET_BEFORE);
    const root = await makeGitRepo(tree);
    branch(root);
    await write(root, `${overlayPath("apps", "prod")}/kustomization.yaml`, secretOverlay(SECRET_AFTER));
    await write(
      root,
      `${layerPath("configs")}/base/configmap.yaml`,
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: ingress\ndata:\n  mode: "</script><script>alert(1)</script>"\n',
    );
    const out = await makeTempDir();
    const { report } = await diffAgainst(captureContext(root).context, { dir: root, against: "main", json: false, outDir: out });
    expect(report.problems).toEqual([]);
    expect(report.changes.map((change) => `${change.cluster} ${change.ref.kind} ${change.ref.name}`).sort()).toEqual([
      "prod ConfigMap settings-prod",
      "prod Secret db-prod",
      "staging ConfigMap settings-staging",
    ]);
    const file = path.join(out, GIT_DIFF_FILES.html);
    const html = await readFile(file, "utf8");
    for (const value of [SECRET_BEFORE, SECRET_AFTER]) {
      expect(html).not.toContain(value);
      expect(html).not.toContain(Buffer.from(value).toString("base64"));
    }

    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-gpu"] });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      const requests: string[] = [];
      page.on("console", (message) => {
        if (message.type() === "error") errors.push(message.text());
      });
      page.on("pageerror", (error) => errors.push(error.message));
      page.on("dialog", (dialog) => {
        errors.push(`a dialog opened: ${dialog.message()}`);
        void dialog.dismiss();
      });
      page.on("request", (request) => requests.push(request.url()));
      await page.goto(pathToFileURL(file).href);

      // Summary: every changed object listed.
      const listed = await page.locator("#changed-objects li").allTextContents();
      expect(listed).toHaveLength(3);
      for (const name of ["Secret ingress/db-prod", "ConfigMap ingress/settings-prod", "ConfigMap ingress/settings-staging"]) {
        expect(listed.some((text) => text.includes(name))).toBe(true);
      }
      // The tree: cluster → Kustomization → kind → object.
      const tree = await page.locator("#tree").innerText();
      expect(tree).toMatch(/prod[\s\S]*Kustomization flux-system\/configs[\s\S]*ConfigMap[\s\S]*ConfigMap ingress\/settings-prod/);

      // One object: its fields, side by side, then unified.
      await page.locator("#tree a[data-object]", { hasText: "settings-staging" }).click();
      expect(await page.locator("#fields").innerText()).toContain('~ data.mode: "strict" → "</script><script>alert(1)</script>"');
      expect(await page.locator("#side-by-side td.d").allTextContents()).toEqual(["  mode: strict"]);
      await page.locator("#view-unified").click();
      expect(await page.locator("#unified div.add").allTextContents()).toEqual(["+  mode: </script><script>alert(1)</script>"]);

      await page.locator("#tree a[data-object]", { hasText: "db-prod" }).click();
      expect(await page.locator("#fields").innerText()).toBe("~ data.password: changed (value not shown)");

      const content = await page.content();
      for (const value of [SECRET_BEFORE, SECRET_AFTER]) expect(content).not.toContain(value);
      expect(errors).toEqual([]);
      // Self-contained: the page itself and nothing else.
      expect(requests).toEqual([pathToFileURL(file).href]);
    } finally {
      await browser.close();
    }
  });
});
