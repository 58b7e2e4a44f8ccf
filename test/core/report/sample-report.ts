// One check run's worth of report input: passing, failing, unrendered and fleet-wide findings,
// with messages that carry every character the reporters must escape.
import type { Finding } from "../../../core/model/findings.ts";
import type { CheckReportInput, CheckSummaryRow } from "../../../core/report/summary.ts";

export const summary: CheckSummaryRow[] = [
  {
    layer: "controllers",
    environment: "prod",
    path: "gitops/flux/infrastructure/controllers/overlays/prod",
    order: 0,
    rendered: true,
    objects: 14,
    errors: 0,
    warnings: 0,
  },
  {
    layer: "controllers",
    environment: "staging",
    path: "gitops/flux/infrastructure/controllers/overlays/staging",
    order: 0,
    rendered: true,
    objects: 14,
    errors: 0,
    warnings: 1,
  },
  {
    layer: "apps",
    environment: "prod",
    path: "gitops/flux/apps/overlays/prod",
    order: 2,
    rendered: true,
    objects: 9,
    errors: 3,
    warnings: 0,
  },
  {
    layer: "apps",
    environment: "staging",
    path: "gitops/flux/apps/overlays/staging",
    order: 2,
    rendered: false,
    objects: 0,
    errors: 1,
    warnings: 0,
  },
];

const web = { apiVersion: "apps/v1", kind: "Deployment", namespace: "shop", name: "web" };

export const findings: Finding[] = [
  {
    severity: "error",
    check: "validate/schema",
    layer: "apps",
    environment: "prod",
    resource: web,
    file: "gitops/flux/apps/base/web.yaml",
    line: 12,
    message: "spec.replicas: Invalid type. Expected: integer, given: string",
    hint: "Quote-free numbers: `replicas: 3`",
  },
  {
    severity: "error",
    check: "validate/schema",
    layer: "apps",
    environment: "prod",
    resource: web,
    file: "gitops/flux/apps/base/web.yaml",
    line: 20,
    message: "a | pipe, <script>alert(1)</script>, `ticks`, @group and #12 & ~label\nsecond line\n# not a heading",
  },
  {
    severity: "error",
    check: "validate/missing-schema",
    layer: "apps",
    environment: "prod",
    resource: { apiVersion: "example.com/v1", kind: "Widget", name: "w" },
    file: "gitops/flux/apps/base/widget.yaml",
    line: 1,
    message: "no schema for example.com/v1 Widget \u001b[31mred\u001b[0m and a bell \u0007 and NUL \u0000",
  },
  {
    severity: "error",
    check: "render/kustomize",
    layer: "apps",
    environment: "staging",
    file: "gitops/flux/apps/overlays/staging/kustomization.yaml",
    line: 4,
    message: "accumulating resources: '../../base/missing' does not exist",
    hint: "Fix the path in resources:",
  },
  {
    severity: "warning",
    check: "render/empty-overlay",
    layer: "controllers",
    environment: "staging",
    file: "gitops/flux/infrastructure/controllers/overlays/staging/kustomization.yaml",
    message: "overlay renders only what its base renders",
  },
  {
    severity: "info",
    check: "validate/skipped-crd",
    layer: "controllers",
    environment: "staging",
    message: "CustomResourceDefinition schemas are not validated",
  },
  {
    severity: "error",
    check: "fleet/dependency-cycle",
    file: "clusters/prod/apps.yaml",
    line: 7,
    message: "apps -> configs -> apps",
  },
];

export function sampleReport(extra: Finding[] = []): CheckReportInput {
  return { summary, findings: [...findings, ...extra], layerOrder: ["controllers", "configs", "apps"], source: "config" };
}
