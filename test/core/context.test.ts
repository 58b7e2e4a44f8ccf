import { describe, expect, it } from "vitest";
import { subprocessEnv } from "../../core/context.ts";

describe("the environment subprocesses see", () => {
  it("keeps what tools need (paths, proxies, sops key services) and drops GitLab and CI tokens", () => {
    const env = subprocessEnv({
      PATH: "/usr/bin",
      HTTPS_PROXY: "http://proxy:3128",
      SOPS_AGE_KEY_FILE: "/keys/age.txt",
      AWS_REGION: "eu-west-1",
      GITOPS_CI_GITLAB_TOKEN: "glpat-secret",
      CI_JOB_TOKEN: "job-secret",
      GITLAB_TOKEN: "another",
      UNSET: undefined,
    });
    expect(env).toEqual({
      PATH: "/usr/bin",
      HTTPS_PROXY: "http://proxy:3128",
      SOPS_AGE_KEY_FILE: "/keys/age.txt",
      AWS_REGION: "eu-west-1",
    });
  });
});
