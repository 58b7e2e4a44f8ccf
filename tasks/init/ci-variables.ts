// The CI/CD variables a repository creates for the component (Settings > CI/CD > Variables), which
// are required and which optional, and what each one unlocks.
import type { Fleet } from "../../core/model/fleet.ts";
import type { SopsConfig } from "../../core/sops/creation-rules.ts";
import { allRecipients } from "../../core/sops/recipients.ts";
import type { CiInclude } from "./ci-include.ts";

export interface CiVariable {
  name: string;
  required: boolean;
  /** How to create it: type, flags, scope. */
  how: string;
  unlocks: string;
}

/** The component's default report-token-variable input. */
export const REPORT_TOKEN_VARIABLE = "GITOPS_CI_GITLAB_TOKEN";

export function ciVariables(fleet: Fleet, include: CiInclude, sops: readonly SopsConfig[]): CiVariable[] {
  const variables: CiVariable[] = [
    {
      name: REPORT_TOKEN_VARIABLE,
      required: include.mode === "generated",
      how: "a project access token with the api scope and the Reporter role; variable masked, not protected (merge request pipelines run on unprotected branches)",
      unlocks:
        include.mode === "generated"
          ? "the merge request note, and the report job's download of the child pipeline's reports (mode generated needs it); drift's one issue per environment"
          : "the merge request note, updated in place (without it the note is written to gitops-ci-note.md in the report job's artifacts); drift's one issue per environment",
    },
  ];
  const ageRules = sops
    .flatMap((config) => config.rules ?? [])
    .filter((rule) => allRecipients(rule.groups).some((recipient) => recipient.type === "age"));
  if (ageRules.length > 0) {
    variables.push({
      name: "SOPS_AGE_KEY",
      required: false,
      how: "the AGE-SECRET-KEY-1... line of the age key the creation rules encrypt to; variable masked (one line); protected, unless merge request pipelines must decrypt and you trust every author (a merge request can change the pipeline)",
      unlocks:
        "decrypting the SOPS files: their MACs are verified and decrypted values are checked (without it, decryption is reported as skipped, never as passed)",
    });
  }
  for (const environment of fleet.environments) {
    variables.push({
      name: `KUBECONFIG (environment scope ${environment.name})`,
      required: false,
      how: environment.kubeContext
        ? `none if a GitLab agent shares context ${environment.kubeContext} with this project (gitops-ci.yaml names it); else a File variable with a kubeconfig for the cluster`
        : "a File variable with a kubeconfig for the cluster, scoped to the environment; or a GitLab agent shared with this project, its context named in gitops-ci.yaml (environments: [{name, kubeContext}])",
      unlocks: `the live diff of ${environment.name} in merge requests (input diff: true) and the scheduled drift check; read-only access is enough (docs/rbac/diff-identity.yaml)`,
    });
  }
  return variables;
}

export function formatVariables(variables: readonly CiVariable[]): string {
  const lines = ["CI/CD variables to create (Settings > CI/CD > Variables):"];
  for (const variable of variables) {
    lines.push(
      `  ${variable.name}  ${variable.required ? "required" : "optional"}`,
      `      how:     ${variable.how}`,
      `      unlocks: ${variable.unlocks}`,
    );
  }
  return lines.join("\n");
}
