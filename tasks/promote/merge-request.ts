// The one merge request of a promotion: found again by its source branch, created when there is
// none, its title and description rewritten only when they changed. The description is built from
// the promotion alone (no run-specific links or times), so an unchanged promotion leaves it as is.
import { TOKEN_VARIABLES } from "../../core/gitlab/ci-environment.ts";
import type { GitLabMergeRequestDetails, MergeRequestFields, MergeRequestsApi } from "../../core/gitlab/client.ts";
import { UserError } from "../../core/errors.ts";
import { describeSubject, formatFieldPath, type KeptDifference, type Promotion } from "../../core/model/promotion.ts";
import { codeSpan, escapeHtml, escapeMarkdown, fenceFor } from "../../core/report/markdown-text.ts";
import type { OverlayDiff } from "./rendered-diff.ts";

export interface PromoteGitLabAccess {
  apiUrl: string;
  projectId: string | number;
  token: string;
  tokenVariable: string;
}

/** GitLab access from CI variables: all of it, none of it (a local run), or a usage error naming what is missing. */
export function readPromoteGitLabAccess(env: Readonly<Record<string, string | undefined>>): PromoteGitLabAccess | undefined {
  const value = (name: string) => env[name]?.trim() || undefined;
  const apiUrl = value("CI_API_V4_URL");
  const projectText = value("CI_PROJECT_ID");
  const tokenVariable = TOKEN_VARIABLES.find((name) => value(name));
  if (!apiUrl && !projectText && !tokenVariable) return undefined;
  const missing = [
    ...(apiUrl ? [] : ["CI_API_V4_URL"]),
    ...(projectText ? [] : ["CI_PROJECT_ID"]),
    ...(tokenVariable ? [] : [TOKEN_VARIABLES[0]]),
  ];
  if (missing.length > 0 || !apiUrl || !projectText || !tokenVariable) {
    throw new UserError(`cannot open the promotion merge request: missing ${missing.join(", ")}`, {
      hint: "in a GitLab job CI_API_V4_URL and CI_PROJECT_ID are predefined; store a project access token (api scope, Developer role to push the branch) as GITOPS_CI_GITLAB_TOKEN; or pass --dry-run",
    });
  }
  return {
    apiUrl: apiUrl.replace(/\/+$/, ""),
    projectId: /^\d+$/.test(projectText) ? Number(projectText) : projectText,
    token: value(tokenVariable)!,
    tokenVariable,
  };
}

export interface MergeRequestOutcome {
  action: "created" | "updated" | "unchanged";
  mergeRequest: GitLabMergeRequestDetails;
  /** Other open merge requests from the same branch (left alone). */
  duplicates: number[];
}

export async function upsertPromotionMergeRequest(
  api: MergeRequestsApi,
  projectId: string | number,
  fields: MergeRequestFields,
): Promise<MergeRequestOutcome> {
  const open = await api.listOpenMergeRequests(projectId, fields.sourceBranch, fields.targetBranch);
  const [existing, ...others] = open;
  const duplicates = others.map((mergeRequest) => mergeRequest.iid);
  if (!existing) return { action: "created", mergeRequest: await api.createMergeRequest(projectId, fields), duplicates };
  const changes = {
    ...(existing.title !== fields.title ? { title: fields.title } : {}),
    ...(existing.description !== fields.description ? { description: fields.description } : {}),
  };
  if (Object.keys(changes).length === 0) return { action: "unchanged", mergeRequest: existing, duplicates };
  return { action: "updated", mergeRequest: await api.updateMergeRequest(projectId, existing.iid, changes), duplicates };
}

export interface PromotionSummary {
  from: string;
  to: string;
  component?: string;
  layer?: string;
  promotions: readonly Promotion[];
  kept: readonly KeptDifference[];
  diffs: readonly OverlayDiff[];
}

/** GitLab takes descriptions up to 1,048,576 characters; leave room for the tables. */
const MAX_DIFF_CHARACTERS = 800_000;

export function mergeRequestTitle(summary: Pick<PromotionSummary, "from" | "to" | "component" | "layer">): string {
  const scope = [summary.component, summary.layer ? `layer ${summary.layer}` : undefined].filter(Boolean).join(", ");
  return `Promote ${summary.from} to ${summary.to}${scope ? `: ${scope}` : ""}`;
}

export function mergeRequestDescription(summary: PromotionSummary): string {
  const scope = [summary.component ? `component=${summary.component}` : "", summary.layer ? `layer=${summary.layer}` : ""]
    .filter(Boolean)
    .join(" ");
  const lines = [
    `<!-- gitops-ci:promote ${summary.from}->${summary.to}${scope ? ` ${scope}` : ""} -->`,
    `Promotes what **${cell(summary.from)}** runs to **${cell(summary.to)}**${summary.component ? `, component ${codeSpan(summary.component)}` : ""}. Made by \`gitops-ci promote\`; a new run replaces this branch and description.`,
    "",
    `| Layer | Object | Field | ${cell(summary.to)} | ${cell(summary.from)} | Why |`,
    "| --- | --- | --- | --- | --- | --- |",
    ...summary.promotions.map(
      (promotion) =>
        `| ${cell(promotion.layer)} | ${cell(describeSubject(promotion.subject))} | ${code(formatFieldPath(promotion.path))} | ${promotion.targetHasValue ? code(promotion.previous) : "(base)"} | ${code(promotion.value)} | ${PROMOTION_REASONS[promotion.reason]} |`,
    ),
  ];
  if (summary.kept.length > 0) {
    lines.push(
      "",
      `<details><summary>Left alone: ${summary.kept.length} difference${summary.kept.length === 1 ? "" : "s"} that belong to ${escapeHtml(summary.to)}</summary>`,
      "",
      `| Layer | Object | Field | ${cell(summary.to)} | ${cell(summary.from)} | Why |`,
      "| --- | --- | --- | --- | --- | --- |",
      ...summary.kept.map(
        (kept) =>
          `| ${cell(kept.layer)} | ${cell(describeSubject(kept.subject))} | ${code(formatFieldPath(kept.path) || "(object)")} | ${kept.targetHasValue ? code(kept.previous) : "(base)"} | ${code(kept.value)} | ${KEPT_REASONS[kept.reason]} |`,
      ),
      "",
      "</details>",
    );
  }
  lines.push("", `### Rendered changes in ${cell(summary.to)}`, "");
  let budget = MAX_DIFF_CHARACTERS;
  for (const diff of summary.diffs) {
    if (diff.diff === "") continue;
    const shown =
      diff.diff.length <= budget
        ? diff.diff
        : `${diff.diff.slice(0, Math.max(0, budget))}\n… cut: run gitops-ci promote --dry-run to see the whole diff`;
    budget -= shown.length;
    const fence = fenceFor(shown);
    lines.push(
      `<details open><summary>${escapeHtml(`${diff.environment}/${diff.layer}`)}</summary>`,
      "",
      `${fence}diff`,
      shown,
      fence,
      "",
      "</details>",
      "",
    );
  }
  return `${lines.join("\n").trimEnd()}\n`;
}

export const PROMOTION_REASONS: Record<Promotion["reason"], string> = {
  image: "image",
  "chart-version": "chart version",
  version: "version",
  "configured-path": "promote.paths",
  "new-override": "not set in the target",
};

export const KEPT_REASONS: Record<KeptDifference["reason"], string> = {
  ip: "IP address",
  cidr: "IP range",
  url: "URL",
  email: "e-mail address",
  hostname: "host name",
  "environment-name": "names the environment",
  secret: "secret",
  capacity: "capacity (replicas, resources, storage)",
  excluded: "promote.exclude",
  "set-in-both": "set differently in both (promote.paths to promote)",
  "only-in-source": "object only in the source overlay",
  conflict: "cannot be written in the target",
};

/** A value in a table cell: a code span (cut at 80 characters), its pipes escaped, which GitLab's tables split on even there. */
function code(value: unknown): string {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  const short = text.length > 80 ? `${text.slice(0, 77)}…` : text;
  return codeSpan(short).replace(/\|/g, "\\|");
}

/** Names from the repository (layers, environments, objects): inert text in a table cell or a summary. */
function cell(text: string): string {
  return escapeMarkdown(text);
}
