// The child pipeline of a large fleet, generated from the plan: one job per overlay, `needs` that
// mirror the layer graph inside each environment, and a final aggregation job. A pure function of
// the plan, so tests compare YAML without running anything.
import path from "node:path";
import { stringify } from "yaml";
import { UserError } from "../../core/errors.ts";
import type { Fleet, Overlay } from "../../core/model/fleet.ts";
import { REPORT_FILES } from "../../core/report/write-reports.ts";

/** Where every job writes its reports: `<dir>/<environment>/<layer>/`, the layout `report --from` reads. */
export const REPORTS_DIR = "gitops-ci-reports";
/** The child's last job; the parent's report job downloads the reports from it. */
export const AGGREGATE_JOB = "gitops-ci:aggregate";
const STAGES = { check: "gitops-ci-check", aggregate: "gitops-ci-aggregate" } as const;
/** The render cache, as the component's .gitops-ci:render-cache keeps it: per job and branch. */
export const RENDER_CACHE_DIR = ".gitops-ci-cache";
export const RENDER_CACHE = {
  key: "gitops-ci-render-$CI_JOB_NAME_SLUG-$CI_COMMIT_REF_SLUG",
  fallback_keys: ["gitops-ci-render-$CI_JOB_NAME_SLUG-$CI_DEFAULT_BRANCH"],
  paths: [`${RENDER_CACHE_DIR}/`],
  when: "always",
} as const;

export interface ChildPipelineOptions {
  /** The task image every job runs in. */
  image: string;
  /** The fleet folder as the jobs see it, relative to the project directory. */
  dir: string;
  kubernetesVersion?: string;
  strict?: boolean;
  /** How long GitLab keeps the jobs' artifacts. */
  expireIn?: string;
}

/** One generated check job, as the parent's report job finds it again in the child YAML. */
export interface ChildCheckJob {
  name: string;
  environment: string;
  layer: string;
  reportDir: string;
}

/** Environment and layer names become job names, paths and variables: keep them to a safe alphabet. */
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export function checkJobName(overlay: Pick<Overlay, "environment" | "layer">): string {
  return `gitops-ci:${overlay.environment}:${overlay.layer}`;
}

/**
 * `overlays` are the ones to check (all of the plan, or those a merge request affects); a
 * dependency on an overlay that is not checked is dropped, since its job does not exist.
 */
export function childPipeline(fleet: Fleet, overlays: readonly Overlay[], options: ChildPipelineOptions): Record<string, unknown> {
  for (const overlay of overlays) {
    for (const name of [overlay.environment, overlay.layer]) {
      if (!SAFE_NAME.test(name)) {
        throw new UserError(`"${name}" cannot name a CI job: environment and layer names must match ${SAFE_NAME.source}`, {
          hint: "rename the environment or layer, or run the static pipeline (one job per layer × environment with parallel:matrix)",
          ...(overlay.definedIn ? { file: overlay.definedIn.file } : {}),
        });
      }
    }
  }
  const checked = new Set(overlays.map(checkJobName));
  const expireIn = options.expireIn ?? "1 week";
  const pipeline: Record<string, unknown> = {
    stages: [STAGES.check, STAGES.aggregate],
    default: { image: options.image },
    variables: {
      GITOPS_CI_DIR: options.dir,
      GITOPS_CI_KUBERNETES_VERSION: options.kubernetesVersion ?? "",
      GITOPS_CI_STRICT: options.strict ? "true" : "false",
      GITOPS_CI_CACHE_DIR: RENDER_CACHE_DIR,
    },
  };

  // Fleet order: environments grouped, each in reconcile order, so the YAML reads like `gitops-ci plan`.
  for (const overlay of fleet.overlays.filter((candidate) => checked.has(checkJobName(candidate)))) {
    const reportDir = `${REPORTS_DIR}/${overlay.environment}/${overlay.layer}`;
    const needs = overlay.dependsOn
      .map((layer) => checkJobName({ environment: overlay.environment, layer }))
      .filter((name) => checked.has(name))
      .map((job) => ({ job, artifacts: false }));
    pipeline[checkJobName(overlay)] = {
      stage: STAGES.check,
      needs,
      variables: { GITOPS_CI_ENV: overlay.environment, GITOPS_CI_LAYER: overlay.layer, GITOPS_CI_REPORT_DIR: reportDir },
      // One script entry: the argument list is built with `set --`, never by pasting strings.
      script: [
        [
          'set -- "$GITOPS_CI_DIR" --only "$GITOPS_CI_ENV/$GITOPS_CI_LAYER" --out "$GITOPS_CI_REPORT_DIR"',
          'if [ -n "$GITOPS_CI_KUBERNETES_VERSION" ]; then set -- "$@" --kubernetes-version "$GITOPS_CI_KUBERNETES_VERSION"; fi',
          'if [ "$GITOPS_CI_STRICT" = "true" ]; then set -- "$@" --strict; fi',
          'gitops-ci check "$@"',
        ].join("\n"),
      ],
      // Reports reach the merge request widget through the parent's report job, which downloads
      // them: declaring artifacts:reports here too would count every test twice on GitLab ≥ 18.5,
      // which also shows child pipeline reports.
      artifacts: { when: "always", expire_in: expireIn, paths: [`${reportDir}/`] },
      cache: RENDER_CACHE,
    };
  }

  // No `needs`: a later stage downloads the artifacts of every earlier job, with no 50-needs limit,
  // and `when: always` runs it after failures too. Alone, it keeps an empty selection a valid pipeline.
  pipeline[AGGREGATE_JOB] = {
    stage: STAGES.aggregate,
    when: "always",
    script: [
      `mkdir -p ${REPORTS_DIR}`,
      `find ${REPORTS_DIR} -name ${REPORT_FILES.json} | sort`,
      `for note in ${REPORTS_DIR}/*/*/${REPORT_FILES.markdown}; do if [ -f "$note" ]; then cat "$note"; fi; done`,
    ],
    artifacts: { when: "always", expire_in: expireIn, paths: [`${REPORTS_DIR}/`] },
  };
  return pipeline;
}

export function renderChildPipeline(pipeline: Record<string, unknown>, header: string): string {
  const comment = header
    .split("\n")
    .map((line) => `# ${line}`.trimEnd())
    .join("\n");
  return `${comment}\n${stringify(pipeline, { lineWidth: 0 })}`;
}

/** The check jobs of a generated child pipeline, read back from its YAML (by the parent's report job). */
export function checkJobsOf(pipeline: unknown): ChildCheckJob[] {
  if (!pipeline || typeof pipeline !== "object") return [];
  const jobs: ChildCheckJob[] = [];
  for (const [name, job] of Object.entries(pipeline as Record<string, unknown>)) {
    const variables = (job as { variables?: Record<string, unknown> } | null)?.variables;
    const environment = variables?.["GITOPS_CI_ENV"];
    const layer = variables?.["GITOPS_CI_LAYER"];
    const reportDir = variables?.["GITOPS_CI_REPORT_DIR"];
    if (typeof environment !== "string" || typeof layer !== "string" || typeof reportDir !== "string") continue;
    if (path.posix.isAbsolute(reportDir) || reportDir.split("/").includes("..")) continue;
    jobs.push({ name, environment, layer, reportDir });
  }
  return jobs;
}
