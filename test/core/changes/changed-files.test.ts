import { describe, expect, it } from "vitest";
import path from "node:path";
import { changedFiles } from "../../../core/changes/changed-files.ts";
import { UserError } from "../../../core/errors.ts";
import { captureContext } from "../../helpers/context.ts";
import { makeGitRepo, makeTempDir } from "../../helpers/temp-repo.ts";
import { branch, commitAll, edit, git, remove, write } from "./git-steps.ts";

const since = async (root: string, rev = "main") => (await changedFiles(captureContext(root).context, root, rev)).files;

describe("changedFiles", () => {
  it("lists committed, staged, unstaged and untracked changes, but not ignored files", async () => {
    const root = await makeGitRepo({ "a.yaml": "a: 1\n", "b.yaml": "b: 1\n", "c.yaml": "c: 1\n", ".gitignore": "*.log\n" });
    branch(root);
    await edit(root, "a.yaml");
    commitAll(root);
    await edit(root, "b.yaml");
    git(root, "add", "b.yaml");
    await edit(root, "c.yaml");
    await write(root, "new/d.yaml", "d: 1\n");
    await write(root, "debug.log", "noise\n");
    expect(await since(root)).toEqual(["a.yaml", "b.yaml", "c.yaml", "new/d.yaml"]);
  });

  it("lists both paths of a rename and deleted files", async () => {
    const root = await makeGitRepo({ "old.yaml": "kind: A\n".repeat(20), "gone.yaml": "x: 1\n" });
    branch(root);
    git(root, "mv", "old.yaml", "renamed.yaml");
    await remove(root, "gone.yaml");
    commitAll(root);
    expect(await since(root)).toEqual(["gone.yaml", "old.yaml", "renamed.yaml"]);
  });

  it("compares with the merge base, so a target branch that moved on does not count", async () => {
    const root = await makeGitRepo({ "a.yaml": "a: 1\n", "b.yaml": "b: 1\n" });
    branch(root);
    await edit(root, "a.yaml");
    commitAll(root);
    git(root, "checkout", "-q", "main");
    await edit(root, "b.yaml");
    commitAll(root, "target moved on");
    git(root, "checkout", "-q", "feature");
    const result = await changedFiles(captureContext(root).context, root, "main");
    expect(result.files).toEqual(["a.yaml"]);
    expect(result.mergeBase).toBe(true);
    expect(result.base).toBe(git(root, "merge-base", "main", "HEAD").trim());
  });

  it("gives paths relative to a root that is a sub-folder of the repository", async () => {
    const repo = await makeGitRepo({ "fleet/a.yaml": "a: 1\n", "other/b.yaml": "b: 1\n", ".sops.yaml": "creation_rules: []\n" });
    branch(repo);
    await edit(repo, "fleet/a.yaml");
    await edit(repo, "other/b.yaml");
    await edit(repo, ".sops.yaml");
    commitAll(repo);
    await write(repo, "fleet/new dir/ü.yaml", "x: 1\n");
    expect(await since(path.join(repo, "fleet"))).toEqual(["../.sops.yaml", "../other/b.yaml", "a.yaml", "new dir/ü.yaml"]);
  });

  it("is empty when nothing changed", async () => {
    const root = await makeGitRepo({ "a.yaml": "a: 1\n" });
    expect(await since(root, "HEAD")).toEqual([]);
  });

  it("names a revision it cannot find, with a hint about shallow CI clones", async () => {
    const root = await makeGitRepo({ "a.yaml": "a: 1\n" });
    const error = await changedFiles(captureContext(root).context, root, "origin/does-not-exist").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).message).toContain("origin/does-not-exist");
    expect((error as UserError).hint).toContain("GIT_DEPTH");
    expect((error as UserError).hint).toContain("git fetch");
  });

  it("rejects GitLab's all-zero before-SHA and option-like revisions as user errors", async () => {
    const root = await makeGitRepo({ "a.yaml": "a: 1\n" });
    await expect(since(root, "0".repeat(40))).rejects.toBeInstanceOf(UserError);
    await expect(since(root, "--output=/tmp/x")).rejects.toBeInstanceOf(UserError);
  });

  it("says so when the folder is not in a git repository", async () => {
    const root = await makeTempDir();
    await expect(since(root)).rejects.toThrow(/not inside a git repository/);
  });
});
