import { describe, expect, it } from "vitest";
import {
  describeCiEnvironmentProblems,
  missingCiVariables,
  readCiLinks,
  readMergeRequestCiEnvironment,
} from "../../../core/gitlab/ci-environment.ts";

const complete = {
  CI_API_V4_URL: "https://gitlab.example.com/api/v4",
  CI_PROJECT_ID: "42",
  CI_MERGE_REQUEST_IID: "7",
  CI_PIPELINE_URL: "https://gitlab.example.com/platform/fleet/-/pipelines/1234",
  CI_JOB_URL: "https://gitlab.example.com/platform/fleet/-/jobs/5678",
  GITOPS_CI_GITLAB_TOKEN: "glpat-abcdefghijklmnop",
};

describe("readMergeRequestCiEnvironment", () => {
  it("reads GitLab's predefined variables and the token", () => {
    expect(readMergeRequestCiEnvironment(complete)).toEqual({
      ok: true,
      missing: [],
      invalid: [],
      environment: {
        apiUrl: "https://gitlab.example.com/api/v4",
        projectId: 42,
        mergeRequestIid: 7,
        token: "glpat-abcdefghijklmnop",
        tokenVariable: "GITOPS_CI_GITLAB_TOKEN",
        pipelineUrl: "https://gitlab.example.com/platform/fleet/-/pipelines/1234",
        pipelineId: 1234,
        jobUrl: "https://gitlab.example.com/platform/fleet/-/jobs/5678",
        jobId: 5678,
      },
    });
  });

  it("falls back to GITLAB_TOKEN, and keeps a project path as a string", () => {
    const { GITOPS_CI_GITLAB_TOKEN: _, ...rest } = complete;
    const result = readMergeRequestCiEnvironment({ ...rest, GITLAB_TOKEN: "glpat-fallback", CI_PROJECT_ID: "platform/fleet" });
    expect(result).toMatchObject({
      ok: true,
      environment: { tokenVariable: "GITLAB_TOKEN", token: "glpat-fallback", projectId: "platform/fleet" },
    });
  });

  it("never takes CI_JOB_TOKEN for the token: it cannot post notes", () => {
    const { GITOPS_CI_GITLAB_TOKEN: _, ...rest } = complete;
    const result = readMergeRequestCiEnvironment({ ...rest, CI_JOB_TOKEN: "job-token" });
    expect(result).toEqual({ ok: false, missing: ["GITOPS_CI_GITLAB_TOKEN"], invalid: [] });
  });

  it("names every missing variable at once, and explains them", () => {
    const result = readMergeRequestCiEnvironment({ CI_API_V4_URL: "https://gitlab.example.com/api/v4", GITLAB_TOKEN: " " });
    expect(result).toEqual({ ok: false, missing: ["CI_PROJECT_ID", "CI_MERGE_REQUEST_IID", "GITOPS_CI_GITLAB_TOKEN"], invalid: [] });
    if (result.ok) throw new Error("unreachable");
    const { message, hint } = describeCiEnvironmentProblems(result);
    expect(message).toBe("cannot post the merge request note: missing CI_PROJECT_ID, CI_MERGE_REQUEST_IID, GITOPS_CI_GITLAB_TOKEN");
    expect(hint).toContain('$CI_PIPELINE_SOURCE == "merge_request_event"');
    expect(hint).toContain("`api` scope and at least the Reporter role");
    expect(hint).toContain("CI_JOB_TOKEN cannot post merge request notes");
  });

  it("rejects malformed values instead of guessing", () => {
    const result = readMergeRequestCiEnvironment({
      ...complete,
      CI_API_V4_URL: "gitlab.example.com",
      CI_MERGE_REQUEST_IID: "7a",
      CI_JOB_URL: "not a url",
    });
    expect(result).toEqual({
      ok: false,
      missing: [],
      invalid: [
        { variable: "CI_API_V4_URL", message: 'is not an http(s) URL: "gitlab.example.com"' },
        { variable: "CI_MERGE_REQUEST_IID", message: 'is not a positive integer: "7a"' },
        { variable: "CI_JOB_URL", message: 'is not an http(s) URL: "not a url"' },
      ],
    });
    expect(readMergeRequestCiEnvironment({ ...complete, CI_API_V4_URL: "https://gitlab.example.com/api" })).toMatchObject({
      ok: false,
      invalid: [{ variable: "CI_API_V4_URL", message: 'does not end in /api/v4: "https://gitlab.example.com/api"' }],
    });
  });
});

describe("missingCiVariables and readCiLinks", () => {
  it("are pure functions of the env object", () => {
    expect(missingCiVariables({})).toEqual(["CI_API_V4_URL", "CI_PROJECT_ID", "CI_MERGE_REQUEST_IID", "GITOPS_CI_GITLAB_TOKEN"]);
    expect(readCiLinks({ CI_PIPELINE_ID: "99", CI_PIPELINE_URL: "https://gitlab.example.com/p/-/pipelines/1234/" })).toEqual({
      pipelineUrl: "https://gitlab.example.com/p/-/pipelines/1234",
      pipelineId: 99,
    });
    expect(readCiLinks({})).toEqual({});
  });
});
