// Schemas for the CRDs a repository renders itself (e.g. a chart's CRDs vendored into the
// controllers layer): generated for this run, so their custom resources are validated against
// the exact version the repository installs.
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Finding } from "../../core/model/findings.ts";
import { crdToJsonSchemas, isCustomResourceDefinition } from "../../core/schemas/crd-to-json-schema.ts";
import type { RenderedOverlay } from "../../core/model/rendered-overlay.ts";

export interface RepositoryCrdSchemas {
  /** Folder in the CRDs-catalog layout, or undefined when the repository renders no CRD. */
  dir: string | undefined;
  count: number;
  findings: Finding[];
  /** For messages: the file whose CRD made the schema of a group and kind. */
  origin: (group: string, kind: string) => string;
}

export async function writeRepositoryCrdSchemas(rendered: readonly RenderedOverlay[]): Promise<RepositoryCrdSchemas> {
  const findings: Finding[] = [];
  const schemas = new Map<string, object>();
  const files = new Map<string, string>();
  for (const result of rendered) {
    for (const manifest of result.manifests) {
      if (!isCustomResourceDefinition(manifest.object)) continue;
      try {
        for (const schema of crdToJsonSchemas(manifest.object).schemas) {
          schemas.set(schema.fileName, schema.schema);
          if (manifest.origin) files.set(`${schema.kind}.${schema.group}`, manifest.origin.file);
        }
      } catch (error) {
        findings.push({
          severity: "error",
          check: "validate/crd",
          environment: result.overlay.environment,
          layer: result.overlay.layer,
          resource: manifest.ref,
          file: manifest.origin?.file ?? result.overlay.path,
          message: `cannot derive a schema from this CRD: ${(error as Error).message}`,
        });
      }
    }
  }
  const origin = (group: string, kind: string) => {
    const file = files.get(`${kind}.${group}`);
    return `the CRD this repository renders${file ? ` (${file})` : ""}`;
  };
  if (schemas.size === 0) return { dir: undefined, count: 0, findings, origin };
  const dir = await mkdtemp(path.join(tmpdir(), "gitops-ci-crd-schemas-"));
  for (const [fileName, schema] of schemas) {
    await mkdir(path.dirname(path.join(dir, fileName)), { recursive: true });
    await writeFile(path.join(dir, fileName), JSON.stringify(schema));
  }
  return { dir, count: schemas.size, findings, origin };
}
