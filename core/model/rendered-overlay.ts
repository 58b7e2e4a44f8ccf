// One overlay's render, as every task after render sees it: the objects Flux's packages built, each
// with the repository file it came from, and every problem as a finding.
import type { Manifest } from "../manifests.ts";
import type { Finding } from "./findings.ts";
import type { Overlay } from "./fleet.ts";

export interface RenderedOverlay {
  overlay: Overlay;
  ok: boolean;
  manifests: Manifest[];
  findings: Finding[];
  durationMs: number;
}
