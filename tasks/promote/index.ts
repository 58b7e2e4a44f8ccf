// `gitops-ci promote --from staging --to prod [--layer L] [--component C]`: moves what the source
// environment runs (image tags and digests, chart versions, values it adds) into the target's
// overlays, leaves what belongs to the target (addresses, host names, issuer URLs, secrets,
// nameSuffix, capacity), re-renders and validates the target, shows the rendered diff, and with
// GitLab access pushes one branch and keeps one merge request. The rules are in
// core/promote/find-promotions.ts.
import { mkdtemp, realpath, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { TaskContext } from "../../core/context.ts";
import { ExitCode, UserError } from "../../core/errors.ts";
import { discoverFleet } from "../../core/fleet/discover.ts";
import type { Fleet, Overlay } from "../../core/model/fleet.ts";
import { openGitLabClient } from "../../core/gitlab/task-client-options.ts";
import { parseFieldPattern } from "../../core/promote/field-patterns.ts";
import { matchesComponent, type PromotionRules } from "../../core/promote/find-promotions.ts";
import { describeSubject, formatFieldPath, type KeptDifference, type Promotion } from "../../core/model/promotion.ts";
import { promoteOverlay, type OverlayPromotion } from "../../core/promote/promote-overlay.ts";
import { formatTable } from "../../core/report/terminal.ts";
import { check } from "../check/index.ts";
import { Git, gitLabRemote, pushPromotionBranch, type PromotionBranch } from "./git-branch.ts";
import {
  KEPT_REASONS,
  mergeRequestDescription,
  mergeRequestTitle,
  PROMOTION_REASONS,
  readPromoteGitLabAccess,
  upsertPromotionMergeRequest,
  type MergeRequestOutcome,
} from "./merge-request.ts";
import { readOverlayFiles, writeOverlayFiles } from "../../core/promote/overlay-files.ts";
import { diffRendered, renderOverlaysAsText, type OverlayDiff } from "./rendered-diff.ts";

export interface PromoteOptions {
  dir: string;
  configFile?: string;
  /** Default: the environment before `to` in gitops-ci.yaml `promote.order`. */
  from?: string;
  to: string;
  layer?: string;
  component?: string;
  json: boolean;
  /** Edit, render and validate the working tree only: no branch, no merge request. */
  dryRun?: boolean;
  /** The merge request's target branch. Default: CI_COMMIT_BRANCH, CI_DEFAULT_BRANCH, the current branch. */
  targetBranch?: string;
}

export interface PromoteResult {
  exitCode: ExitCode;
  from: string;
  to: string;
  branch: string;
  promotions: Promotion[];
  kept: KeptDifference[];
  /** Repository-relative files written. */
  files: string[];
  diffs: OverlayDiff[];
  validated?: boolean;
  push?: PromotionBranch;
  mergeRequest?: { action: MergeRequestOutcome["action"]; iid: number; webUrl: string };
}

/**
 * With GitLab access the promotion becomes a branch, so it starts from the branch's committed
 * state: it runs in a temporary worktree of HEAD, never on edits a failed run (or a person) left in
 * the working tree, which would make it find "nothing to promote". Without access (or with
 * --dry-run) it edits the working tree, which is the point of running it locally.
 */
export async function promote(context: TaskContext, options: PromoteOptions): Promise<PromoteResult> {
  const access = options.dryRun ? undefined : readPromoteGitLabAccess(context.env);
  if (!access) return promoteInTree(context, options, { committed: false });
  const root = await realpath(path.resolve(context.cwd, options.dir));
  const git = new Git(context, root);
  const top = await realpath(await git.topLevel());
  const scratch = await mkdtemp(path.join(tmpdir(), "gitops-ci-promote-tree-"));
  const inside = (file: string) => {
    const relative = path.relative(top, file);
    return relative.startsWith("..") || path.isAbsolute(relative) ? file : path.join(scratch, relative);
  };
  try {
    await git.run(["worktree", "add", "--detach", "--quiet", scratch, "HEAD"]);
    const configFile = options.configFile ? inside(path.resolve(context.cwd, options.configFile)) : undefined;
    return await promoteInTree(
      { ...context, cwd: inside(await realpath(context.cwd)) },
      { ...options, dir: inside(root), ...(configFile ? { configFile } : {}) },
      { committed: true },
    );
  } finally {
    await git.run(["worktree", "remove", "--force", scratch], { allowFailure: true });
    await rm(scratch, { recursive: true, force: true });
  }
}

async function promoteInTree(context: TaskContext, options: PromoteOptions, tree: { committed: boolean }): Promise<PromoteResult> {
  const root = path.resolve(context.cwd, options.dir);
  const discovery = await discoverFleet(context, root, options.configFile ? { configFile: options.configFile } : {});
  const { fleet, config } = discovery;
  const to = requireEnvironment(fleet, options.to, "--to");
  // The order comes from gitops-ci.yaml, else from the pipeline component's `environments` input.
  const order = config?.promote.order.length ? config.promote.order : parseEnvironmentList(context.env["GITOPS_CI_PROMOTE_ORDER"]);
  const from = requireEnvironment(fleet, options.from ?? previousInOrder(order, to), "--from");
  if (from === to) throw new UserError(`--from and --to are both ${to}`, { hint: "promote moves one environment's versions to another" });
  const layers = selectLayers(fleet, options.layer);
  const rules: PromotionRules = {
    paths: (config?.promote.paths ?? []).map((pattern) => parseFieldPattern(pattern, config?.file)),
    exclude: (config?.promote.exclude ?? []).map((pattern) => parseFieldPattern(pattern, config?.file)),
    ...(options.component ? { component: options.component } : {}),
  };
  const branch = branchName(from, to, options.component, options.layer);
  context.output.err(`Promoting ${from} -> ${to}${options.component ? ` (component ${options.component})` : ""}: ${layers.join(", ")}`);

  const planned: { overlay: Overlay; result: OverlayPromotion }[] = [];
  for (const layer of layers) {
    const source = overlayOf(fleet, from, layer);
    const target = overlayOf(fleet, to, layer);
    if (!source || !target) {
      context.output.err(`  ${layer}: ${!source ? from : to} has no overlay for this layer, skipped`);
      continue;
    }
    const result = promoteOverlay(
      layer,
      await readOverlayFiles(root, source.path, from),
      await readOverlayFiles(root, target.path, to),
      rules,
    );
    for (const problem of result.problems) context.output.err(`  ${layer}: ${problem}`);
    planned.push({ overlay: target, result });
  }
  const promotions = planned.flatMap(({ result }) => result.promotions);
  const kept = planned.flatMap(({ result }) => result.kept);
  if (options.component && !planned.some(({ result }) => result.subjects.some((subject) => matchesComponent(subject, options.component)))) {
    const known = [...new Set(planned.flatMap(({ result }) => result.subjects.map((subject) => subject.name)))].sort();
    context.output.err(
      `warning: no overlay of ${from} or ${to} sets anything on a HelmRelease or image named ${options.component}${known.length ? ` (they set: ${known.join(", ")})` : ""}`,
    );
  }
  const base: PromoteResult = { exitCode: ExitCode.ok, from, to, branch, promotions, kept, files: [], diffs: [] };

  if (promotions.length === 0) {
    if (options.json) context.output.out(JSON.stringify(jsonResult(base), null, 2));
    else context.output.out(`Nothing to promote from ${from} to ${to}: ${to} already runs what ${from} runs.${formatKept(kept)}`);
    return base;
  }

  const access = options.dryRun ? undefined : readPromoteGitLabAccess(context.env);
  // The token is a secret before anything can echo it (git push's errors name the remote).
  if (access) context.redactor.add(access.token);
  const gitlab = access;
  const git = new Git(context, root);
  const touched = planned.filter(({ result }) => result.files.size > 0);
  if (gitlab) {
    const dirty = await git.uncommitted(touched.map(({ overlay }) => overlay.path));
    if (dirty.length > 0) {
      throw new UserError(`the target overlays have uncommitted changes: ${dirty.slice(0, 5).join(", ")}${dirty.length > 5 ? ", …" : ""}`, {
        hint: "commit or discard them first: the promotion branch is built from HEAD and these files",
      });
    }
  }

  const targets = touched.map(({ overlay }) => overlay);
  const before = await renderOverlaysAsText(context, fleet, targets);
  const files: string[] = [];
  for (const { overlay, result } of touched) files.push(...(await writeOverlayFiles(root, overlay.path, result.files)));
  const after = await renderOverlaysAsText(context, fleet, targets);
  const diffs = diffRendered(before, after);
  const result: PromoteResult = { ...base, files, diffs };

  if (!options.json) {
    context.output.out(formatPromotions(from, to, promotions));
    if (kept.length > 0) context.output.out(formatKept(kept).replace(/^\n/, ""));
    for (const diff of diffs) if (diff.diff) context.output.out(`\n${diff.diff}`);
  }

  // Validate the target as the merge request pipeline will: its check output goes to stderr.
  const validation = await check(
    { ...context, output: { out: (text) => context.output.err(text), err: (text) => context.output.err(text) } },
    {
      dir: root,
      json: false,
      only: targets.map((overlay) => `${overlay.environment}/${overlay.layer}`),
      ...(options.configFile ? { configFile: options.configFile } : {}),
    },
  );
  result.validated = validation.exitCode === ExitCode.ok;
  if (!result.validated) {
    context.output.err(
      tree.committed
        ? `${to} does not validate after the promotion: nothing pushed (the promotion was made in a clean checkout of HEAD; the diff is above)`
        : `${to} does not validate after the promotion: nothing pushed; the edited files are in the working tree`,
    );
    result.exitCode = ExitCode.findings;
    if (options.json) context.output.out(JSON.stringify(jsonResult(result), null, 2));
    return result;
  }

  if (!gitlab) {
    context.output.err(
      options.dryRun
        ? "--dry-run: the files are changed in the working tree; no branch, no merge request"
        : "no GitLab access (CI_API_V4_URL, CI_PROJECT_ID, GITOPS_CI_GITLAB_TOKEN): the files are changed in the working tree; no branch, no merge request",
    );
    if (options.json) context.output.out(JSON.stringify(jsonResult(result), null, 2));
    return result;
  }

  const targetBranch =
    options.targetBranch ?? context.env["CI_COMMIT_BRANCH"] ?? context.env["CI_DEFAULT_BRANCH"] ?? (await git.currentBranch());
  if (!targetBranch)
    throw new UserError("cannot tell which branch the merge request targets (detached HEAD)", { hint: "pass --target-branch BRANCH" });
  result.push = await pushPromotionBranch(git, {
    branch,
    files: files.map((file) => path.join(root, file)),
    message: commitMessage(from, to, options.component, promotions),
    remote: gitLabRemote(context.env, gitlab.token),
    author: { name: context.env["GITLAB_USER_NAME"] || "gitops-ci", email: context.env["GITLAB_USER_EMAIL"] || "gitops-ci@localhost" },
  });
  context.output.err(
    result.push.pushed
      ? `Pushed ${branch} (${result.push.commit.slice(0, 12)})`
      : `Branch ${branch} already holds this promotion: nothing pushed`,
  );

  const client = openGitLabClient(context, { apiUrl: gitlab.apiUrl, token: gitlab.token, tokenVariable: gitlab.tokenVariable });
  const summary = {
    from,
    to,
    promotions,
    kept,
    diffs,
    ...(options.component ? { component: options.component } : {}),
    ...(options.layer ? { layer: options.layer } : {}),
  };
  const outcome = await upsertPromotionMergeRequest(client, gitlab.projectId, {
    sourceBranch: branch,
    targetBranch,
    title: mergeRequestTitle(summary),
    description: context.redactor.redact(mergeRequestDescription(summary)),
  });
  result.mergeRequest = { action: outcome.action, iid: outcome.mergeRequest.iid, webUrl: outcome.mergeRequest.web_url };
  context.output.err(`Merge request !${outcome.mergeRequest.iid} ${outcome.action}: ${outcome.mergeRequest.web_url}`);
  if (outcome.duplicates.length > 0)
    context.output.err(
      `warning: other open merge requests from ${branch}: ${outcome.duplicates.map((iid) => `!${iid}`).join(", ")} (left alone)`,
    );
  if (options.json) context.output.out(JSON.stringify(jsonResult(result), null, 2));
  return result;
}

/** `gitops-ci/promote-<from>-to-<to>[-<component>][-<layer>]`, safe as a git ref. */
export function branchName(from: string, to: string, component?: string, layer?: string): string {
  const safe = (text: string) =>
    text
      .replace(/[^A-Za-z0-9._-]+/g, "-")
      .replace(/^-+|-+$/g, "")
      .replace(/\.{2,}/g, ".");
  return `gitops-ci/promote-${[from, "to", to, component, layer]
    .filter((part): part is string => Boolean(part))
    .map(safe)
    .join("-")}`;
}

function requireEnvironment(fleet: Fleet, name: string | undefined, option: string): string {
  const known = fleet.environments.map((environment) => environment.name);
  if (name === undefined) {
    throw new UserError(`${option} is required`, {
      hint: `name one of ${known.join(", ")}, or list the promotion order in gitops-ci.yaml (promote.order) to default --from`,
    });
  }
  if (!known.includes(name))
    throw new UserError(`${option} ${name} is not an environment of this repository`, { hint: `one of: ${known.join(", ")}` });
  return name;
}

/** `["staging", "prod"]` (a GitLab array input as interpolated into a variable), or `staging,prod`. */
export function parseEnvironmentList(value: string | undefined): string[] {
  if (!value?.trim()) return [];
  try {
    const parsed: unknown = JSON.parse(value);
    if (Array.isArray(parsed)) return parsed.map(String);
  } catch {
    // not JSON: a plain list
  }
  return value.split(/[\s,]+/).filter(Boolean);
}

function previousInOrder(order: readonly string[], to: string): string | undefined {
  const index = order.indexOf(to);
  return index > 0 ? order[index - 1] : undefined;
}

function selectLayers(fleet: Fleet, layer: string | undefined): string[] {
  const names = fleet.layers.map((candidate) => candidate.name);
  if (layer === undefined) return names;
  if (!names.includes(layer))
    throw new UserError(`--layer ${layer} is not a layer of this repository`, { hint: `one of: ${names.join(", ")}` });
  return [layer];
}

function overlayOf(fleet: Fleet, environment: string, layer: string): Overlay | undefined {
  return fleet.overlays.find((overlay) => overlay.environment === environment && overlay.layer === layer);
}

function formatPromotions(from: string, to: string, promotions: readonly Promotion[]): string {
  const rows = promotions.map((promotion) => [
    promotion.layer,
    describeSubject(promotion.subject),
    formatFieldPath(promotion.path),
    promotion.targetHasValue ? show(promotion.previous) : "(base)",
    show(promotion.value),
    PROMOTION_REASONS[promotion.reason],
    promotion.targetFile ?? "",
  ]);
  return `${promotions.length} change${promotions.length === 1 ? "" : "s"} promoted from ${from} to ${to}:\n${formatTable(["LAYER", "OBJECT", "FIELD", to.toUpperCase(), from.toUpperCase(), "WHY", "FILE"], rows)}`;
}

function formatKept(kept: readonly KeptDifference[]): string {
  if (kept.length === 0) return "";
  const rows = kept.map((difference) => [
    difference.layer,
    describeSubject(difference.subject),
    formatFieldPath(difference.path) || "(object)",
    KEPT_REASONS[difference.reason],
  ]);
  return `\n\n${kept.length} difference${kept.length === 1 ? "" : "s"} left alone:\n${formatTable(["LAYER", "OBJECT", "FIELD", "WHY"], rows)}`;
}

function show(value: unknown): string {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}…` : text;
}

function commitMessage(from: string, to: string, component: string | undefined, promotions: readonly Promotion[]): string {
  const lines = promotions.map(
    (promotion) =>
      `- ${promotion.layer}: ${describeSubject(promotion.subject)} ${formatFieldPath(promotion.path)} = ${show(promotion.value)}`,
  );
  return `Promote ${from} to ${to}${component ? `: ${component}` : ""}\n\n${lines.join("\n")}\n`;
}

function jsonResult(result: PromoteResult): Record<string, unknown> {
  const field = (entry: { subject: Promotion["subject"]; path: Promotion["path"] }) => ({
    object: describeSubject(entry.subject),
    field: formatFieldPath(entry.path),
  });
  return {
    from: result.from,
    to: result.to,
    branch: result.branch,
    promotions: result.promotions.map((promotion) => ({
      layer: promotion.layer,
      ...field(promotion),
      previous: promotion.previous ?? null,
      value: promotion.value,
      reason: promotion.reason,
      file: promotion.targetFile ?? null,
    })),
    kept: result.kept.map((difference) => ({ layer: difference.layer, ...field(difference), reason: difference.reason })),
    files: result.files,
    diffs: result.diffs.filter((diff) => diff.diff !== ""),
    validated: result.validated ?? null,
    pushed: result.push?.pushed ?? null,
    mergeRequest: result.mergeRequest ?? null,
  };
}
