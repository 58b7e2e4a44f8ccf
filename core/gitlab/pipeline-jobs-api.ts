// A pipeline's trigger jobs and jobs, and one file of a job's artifacts (docs/api/jobs.md,
// docs/api/job_artifacts.md), as `pipeline --collect-children` uses them, over the client's request
// handler: the same retries, errors and redaction as every call.
import { Jobs } from "@gitbeaker/rest";
import { GitLabApiError, type GitbeakerSettings } from "./request-handler.ts";
import { scalarText } from "../yaml-file.ts";

/** A trigger job: `downstream_pipeline` is the pipeline it started, null when none was created. */
export interface GitLabBridge {
  id: number;
  name: string;
  status: string;
  downstream_pipeline: { id: number } | null;
}

export interface GitLabJob {
  id: number;
  name: string;
  status: string;
}

export interface PipelineJobsApi {
  /** The pipeline's trigger jobs, across all pages. */
  listPipelineBridges(projectId: string | number, pipelineId: number | string): Promise<GitLabBridge[]>;
  /** The pipeline's jobs, across all pages; GitLab leaves out jobs that were retried. */
  listPipelineJobs(projectId: string | number, pipelineId: number | string): Promise<GitLabJob[]>;
  /**
   * One file of a job's artifacts, as text exactly as stored; undefined when the job has no such
   * file or no artifacts (404), e.g. the job that should have written it did not run.
   */
  downloadJobArtifact(projectId: string | number, jobId: number, artifactPath: string): Promise<string | undefined>;
}

/** GitLab pages lists by at most this many items. */
const PER_PAGE = 100;

export function createPipelineJobsApi(settings: GitbeakerSettings): PipelineJobsApi {
  const jobs = new Jobs(settings);
  return {
    async listPipelineBridges(projectId, pipelineId) {
      // allPipelineBridges takes no pagination options, though GitLab pages the list like any other.
      const all = await jobs.allPipelineBridges(projectId, Number(pipelineId), { perPage: PER_PAGE } as Parameters<
        typeof jobs.allPipelineBridges
      >[2]);
      return (all as unknown[]).map(toBridge);
    },
    async listPipelineJobs(projectId, pipelineId) {
      const all = await jobs.all(projectId, { pipelineId: Number(pipelineId), perPage: PER_PAGE });
      return (all as unknown[]).map(toJob);
    },
    async downloadJobArtifact(projectId, jobId, artifactPath) {
      // Streamed, so the file arrives as stored: GitLab labels it by its extension (a .json file
      // as application/json), and the handler would otherwise parse it.
      const route = `projects/${encodeURIComponent(projectId)}/jobs/${jobId}/artifacts/${artifactPath.split("/").map(encodeURIComponent).join("/")}`;
      try {
        const response = await jobs.requester.get(route, { asStream: true });
        return await new Response(response.body as ReadableStream<Uint8Array> | null).text();
      } catch (error) {
        // 404 is the file (Workhorse) or the job's artifacts (Rails) not being there; an unknown
        // project is a mistake to report, not an absent file.
        if (error instanceof GitLabApiError && error.status === 404 && !/Project Not Found/i.test(error.gitlabMessage)) return undefined;
        throw error;
      }
    },
  };
}

function toBridge(raw: unknown): GitLabBridge {
  const bridge = raw as Record<string, unknown>;
  const downstream = bridge["downstream_pipeline"] as Record<string, unknown> | null | undefined;
  return {
    id: Number(bridge["id"]),
    name: scalarText(bridge["name"]),
    status: scalarText(bridge["status"]),
    downstream_pipeline: downstream && downstream["id"] !== undefined ? { id: Number(downstream["id"]) } : null,
  };
}

function toJob(raw: unknown): GitLabJob {
  const job = raw as Record<string, unknown>;
  return { id: Number(job["id"]), name: scalarText(job["name"]), status: scalarText(job["status"]) };
}
