// What the report job needs from GitLab's predefined CI/CD variables, read from an `env` object
// (never process.env) so tests pass plain objects. Like danger-js's GitLabCI provider, a pure
// function names every missing variable at once instead of failing on the first.
//
// Token: CI_JOB_TOKEN cannot create merge request notes (GitLab's notes API allows job tokens
// only on GET routes, lib/api/helpers/notes_helpers.rb `job_token_policy_for`), so the job needs
// an access token in GITOPS_CI_GITLAB_TOKEN (or GITLAB_TOKEN): a project access token with the
// `api` scope and at least the Reporter role. `read_api` cannot write notes, and a Guest cannot see
// merge requests of a private project (docs/user/permissions.md, "View a merge request", note 1).

/** Where the access token is looked for, in order. */
export const TOKEN_VARIABLES = ["GITOPS_CI_GITLAB_TOKEN", "GITLAB_TOKEN"] as const;
export type TokenVariable = (typeof TOKEN_VARIABLES)[number];

/** Advice shown wherever the token is missing or refused. */
export const TOKEN_ADVICE =
  "create a project access token (Settings > Access tokens) with the `api` scope and at least the Reporter role, " +
  "and store it as a masked CI/CD variable named GITOPS_CI_GITLAB_TOKEN; CI_JOB_TOKEN cannot post merge request notes";

export interface MergeRequestCiEnvironment {
  /** CI_API_V4_URL, e.g. `https://gitlab.example.com/api/v4`. */
  apiUrl: string;
  /** CI_PROJECT_ID: a number, or a `group/project` path. */
  projectId: string | number;
  /** CI_MERGE_REQUEST_IID. */
  mergeRequestIid: number;
  token: string;
  tokenVariable: TokenVariable;
  /** CI_PIPELINE_URL, for the note's header. */
  pipelineUrl?: string;
  /** CI_PIPELINE_ID (or the last segment of CI_PIPELINE_URL): orders reports of different pipelines. */
  pipelineId?: number;
  /** CI_JOB_URL, the base of the links to this job's artifacts. */
  jobUrl?: string;
  jobId?: number;
}

/** The variables that only make the note nicer: links and the pipeline order. */
export interface CiLinks {
  pipelineUrl?: string;
  pipelineId?: number;
  jobUrl?: string;
  jobId?: number;
}

export interface CiEnvironmentProblem {
  variable: string;
  message: string;
}

export type CiEnvironmentResult =
  | { ok: true; environment: MergeRequestCiEnvironment; missing: []; invalid: [] }
  | { ok: false; missing: string[]; invalid: CiEnvironmentProblem[] };

type Env = Readonly<Record<string, string | undefined>>;

/** Names of the required variables that are unset or empty, the token counted once under its first name. */
export function missingCiVariables(env: Env): string[] {
  const missing = ["CI_API_V4_URL", "CI_PROJECT_ID", "CI_MERGE_REQUEST_IID"].filter((name) => !value(env, name));
  if (!TOKEN_VARIABLES.some((name) => value(env, name))) missing.push(TOKEN_VARIABLES[0]);
  return missing;
}

/** Everything needed to post the note, or every variable that is missing or malformed. */
export function readMergeRequestCiEnvironment(env: Env): CiEnvironmentResult {
  const missing = missingCiVariables(env);
  const invalid: CiEnvironmentProblem[] = [];

  const apiUrl = value(env, "CI_API_V4_URL");
  if (apiUrl && !isHttpUrl(apiUrl)) invalid.push({ variable: "CI_API_V4_URL", message: `is not an http(s) URL: "${apiUrl}"` });
  else if (apiUrl && !/\/api\/v4\/?$/.test(new URL(apiUrl).pathname)) {
    invalid.push({ variable: "CI_API_V4_URL", message: `does not end in /api/v4: "${apiUrl}"` });
  }
  const iidText = value(env, "CI_MERGE_REQUEST_IID");
  const mergeRequestIid = iidText ? positiveInteger(iidText) : undefined;
  if (iidText && mergeRequestIid === undefined)
    invalid.push({ variable: "CI_MERGE_REQUEST_IID", message: `is not a positive integer: "${iidText}"` });
  const links = readCiLinks(env, invalid);

  const projectText = value(env, "CI_PROJECT_ID");
  const tokenVariable = TOKEN_VARIABLES.find((name) => value(env, name));
  if (missing.length > 0 || invalid.length > 0 || !apiUrl || !projectText || mergeRequestIid === undefined || !tokenVariable) {
    return { ok: false, missing, invalid };
  }
  return {
    ok: true,
    missing: [],
    invalid: [],
    environment: {
      apiUrl: apiUrl.replace(/\/+$/, ""),
      projectId: positiveInteger(projectText) ?? projectText,
      mergeRequestIid,
      token: value(env, tokenVariable)!,
      tokenVariable,
      ...links,
    },
  };
}

/** The optional link variables; malformed ones are reported, not guessed at. */
export function readCiLinks(env: Env, invalid: CiEnvironmentProblem[] = []): CiLinks {
  const links: CiLinks = {};
  for (const [variable, key] of [
    ["CI_PIPELINE_URL", "pipelineUrl"],
    ["CI_JOB_URL", "jobUrl"],
  ] as const) {
    const url = value(env, variable);
    if (!url) continue;
    if (isHttpUrl(url)) links[key] = url.replace(/\/+$/, "");
    else invalid.push({ variable, message: `is not an http(s) URL: "${url}"` });
  }
  const pipelineId = positiveInteger(value(env, "CI_PIPELINE_ID") ?? "") ?? lastNumber(links.pipelineUrl);
  if (pipelineId !== undefined) links.pipelineId = pipelineId;
  const jobId = positiveInteger(value(env, "CI_JOB_ID") ?? "") ?? lastNumber(links.jobUrl);
  if (jobId !== undefined) links.jobId = jobId;
  return links;
}

/** One paragraph a person can act on: what is missing, what is wrong, and where it comes from. */
export function describeCiEnvironmentProblems(result: Extract<CiEnvironmentResult, { ok: false }>): { message: string; hint: string } {
  const parts: string[] = [];
  if (result.missing.length > 0) parts.push(`missing ${result.missing.join(", ")}`);
  for (const problem of result.invalid) parts.push(`${problem.variable} ${problem.message}`);
  const hints: string[] = [];
  if (result.missing.includes("CI_MERGE_REQUEST_IID")) {
    hints.push('run the report job in merge request pipelines (rules: - if: $CI_PIPELINE_SOURCE == "merge_request_event")');
  }
  if (result.missing.includes(TOKEN_VARIABLES[0])) hints.push(TOKEN_ADVICE);
  if (result.missing.some((name) => name === "CI_API_V4_URL" || name === "CI_PROJECT_ID")) {
    hints.push("these are predefined in every GitLab CI job; outside CI, set them or use --dry-run FILE");
  }
  return {
    message: `cannot post the merge request note: ${parts.join("; ")}`,
    hint: hints.join("; ") || "see the README, section Merge request reports",
  };
}

function value(env: Env, name: string): string | undefined {
  const raw = env[name];
  return raw === undefined || raw.trim() === "" ? undefined : raw.trim();
}

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === "https:" || url.protocol === "http:";
  } catch {
    return false;
  }
}

function positiveInteger(text: string): number | undefined {
  if (!/^\d+$/.test(text)) return undefined;
  const parsed = Number(text);
  return Number.isSafeInteger(parsed) && parsed > 0 ? parsed : undefined;
}

function lastNumber(url: string | undefined): number | undefined {
  const match = url ? /\/(\d+)\/?$/.exec(url) : null;
  return match ? positiveInteger(match[1]!) : undefined;
}
