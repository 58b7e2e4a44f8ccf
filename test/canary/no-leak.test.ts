// The no-leak guarantee, end to end: canary values planted everywhere a secret can sit, every
// command run through the real CLI, every byte of output and every artifact scanned. diff and
// drift against a live cluster plant their own canaries in test/tasks/diff and test/tasks/drift.
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../../cli/main.ts";
import { smallFleet } from "../helpers/small-fleet.ts";
import { makeRepo, makeTempDir } from "../helpers/temp-repo.ts";

const CANARIES = {
  data: "canary-data-5c1f0e7a",
  stringData: "canary-stringdata-91b2d4",
  literal: "canary-literal-3e8a77",
  generatorFile: "canary-genfile-0d4b6c",
  plaintextFile: "canary-plainfile-7a2e19",
  invalid: "canary-invalid-48d0f3",
};

function forms(value: string): string[] {
  return [value, Buffer.from(value).toString("base64")];
}

async function canaryFleet(): Promise<string> {
  const tree = smallFleet(["prod"]);
  const apps = "gitops/flux/apps/overlays/prod";
  tree[`${apps}/kustomization.yaml`] = [
    "apiVersion: kustomize.config.k8s.io/v1beta1",
    "kind: Kustomization",
    "resources:",
    "  - ../../base",
    "  - db-secret.yaml",
    "  - broken-secret.yaml",
    "nameSuffix: -prod",
    "secretGenerator:",
    "  - name: api",
    "    namespace: ingress",
    "    literals:",
    `      - token=${CANARIES.literal}`,
    "    files:",
    "      - key.pem=files/key.pem",
    "",
  ].join("\n");
  tree[`${apps}/files/key.pem`] = `-----BEGIN KEY-----\n${CANARIES.generatorFile}\n-----END KEY-----\n`;
  tree[`${apps}/db-secret.yaml`] =
    `apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: ingress\ndata:\n  password: ${Buffer.from(CANARIES.data).toString("base64")}\nstringData:\n  url: postgres://app:${CANARIES.stringData}@db:5432/app\n`;
  // Fails validation (unknown field, wrong type) while carrying a value.
  tree[`${apps}/broken-secret.yaml`] =
    `apiVersion: v1\nkind: Secret\nmetadata:\n  name: broken\n  namespace: ingress\ntypo: true\nstringData:\n  token: ${CANARIES.invalid}\n  count: 3\n`;
  tree["gitops/flux/apps/base/secrets/admin.env"] = `ADMIN_PASSWORD=${CANARIES.plaintextFile}\n`;
  return makeRepo(tree);
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => path.join(entry.parentPath, entry.name));
}

describe("no secret value reaches any output", () => {
  it("holds for every command, its stdout, stderr and artifacts", async () => {
    const root = await canaryFleet();
    const out = await makeTempDir();
    const env = { PATH: process.env["PATH"], HOME: process.env["HOME"], KUBECONFIG: path.join(out, "no-such-kubeconfig") };
    // Each command's exit code too: one that fails at startup "leaks nothing" trivially.
    const runs: [string, string[], number][] = [
      ["plan", ["plan", root], 0],
      ["plan --json", ["plan", root, "--json"], 0],
      ["render", ["render", root, "--out", path.join(out, "render")], 0],
      ["check", ["check", root, "--out", path.join(out, "check")], 1],
      ["check --json", ["check", root, "--json"], 1],
      ["check --strict", ["check", root, "--strict"], 1],
      ["schemas --from-rendered", ["schemas", "--from-rendered", path.join(out, "render"), "--out", path.join(out, "schemas")], 0],
      ["doctor", ["doctor"], 0],
      [
        "report --dry-run",
        ["report", "--from", path.join(out, "check"), "--dry-run", path.join(out, "note", "note.md"), "--out", path.join(out, "note")],
        0,
      ],
      [
        "pipeline --from-plan",
        ["pipeline", "--from-plan", root, "--image", "registry.example.com/gitops-ci:1", "--out", path.join(out, "pipeline", "child.yml")],
        0,
      ],
      // Without a cluster: diff must fail (exit 2) without leaking what it rendered.
      ["diff (no cluster)", ["diff", root, "--out", path.join(out, "diff")], 2],
    ];
    let transcript = "";
    const exitCodes: Record<string, number> = {};
    for (const [label, args] of runs) {
      let text = "";
      exitCodes[label] = await runCli(args, {
        cwd: root,
        env,
        stdout: { write: (t: string) => (text += t) },
        stderr: { write: (t: string) => (text += t) },
        cpus: 2,
      });
      transcript += `\n### ${label}\n${text}`;
    }
    expect(exitCodes).toEqual(Object.fromEntries(runs.map(([label, , code]) => [label, code])));
    const artifacts = await filesUnder(out);
    expect(artifacts.some((file) => file.endsWith("report.md"))).toBe(true);
    expect(artifacts.some((file) => file.endsWith("junit.xml"))).toBe(true);
    expect(artifacts.some((file) => file.endsWith("note.md"))).toBe(true);
    expect(artifacts.some((file) => file.endsWith("child.yml"))).toBe(true);
    for (const file of artifacts) transcript += `\n### ${file}\n${await readFile(file, "utf8")}`;

    // The check did see the problems: the scan is meaningful only if the secrets were processed.
    expect(transcript).toContain("secrets/plaintext-secret");
    expect(transcript).toContain("validate/schema");
    for (const [where, canary] of Object.entries(CANARIES)) {
      for (const form of forms(canary)) expect(transcript.includes(form), `${where} canary (${form}) leaked`).toBe(false);
    }
  });
});
