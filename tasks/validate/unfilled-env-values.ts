// standards/unfilled-env-value: a value `gitops-ci env add` copied from another environment and
// marked (`# gitops-ci: set for <env> (copied from <from>)`) that nobody has set yet. Until it is,
// the new environment would run with the other environment's addresses, host names or secrets.
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { Finding } from "../../core/model/findings.ts";
import type { Fleet } from "../../core/model/fleet.ts";
import { findMarkers } from "../../core/promote/markers.ts";
import { listRepoFiles } from "../../core/repo-files.ts";

export async function checkUnfilledEnvValues(fleet: Fleet): Promise<Finding[]> {
  const findings: Finding[] = [];
  for (const overlay of fleet.overlays) {
    for (const file of await listRepoFiles(fleet.root, overlay.path)) {
      let text: string;
      try {
        text = await readFile(path.join(fleet.root, file), "utf8");
      } catch {
        continue;
      }
      if (!text.includes("gitops-ci: set for")) continue;
      for (const marker of findMarkers(text, file)) {
        const what = marker.kind === "secret" ? "secret file" : `${marker.kind} ${marker.value}`;
        findings.push({
          severity: "error",
          check: "standards/unfilled-env-value",
          environment: overlay.environment,
          layer: overlay.layer,
          file,
          line: marker.line,
          message: `${what} was copied from ${marker.from} and is not set for ${marker.environment} yet`,
          hint:
            marker.kind === "secret"
              ? `re-create this secret for ${marker.environment} (sops edit, or seal it with ${marker.environment}'s key), then remove the marker line`
              : `set the value for ${marker.environment}, then remove the "# gitops-ci: set for …" comment`,
        });
      }
    }
  }
  return findings;
}
