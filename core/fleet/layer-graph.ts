// Orders layers by their dependsOn edges. Cycles and dangling edges become findings, never a hang.
import type { Finding } from "../model/findings.ts";
import type { SourceLocation } from "../model/fleet.ts";

export interface LayerNode {
  name: string;
  dependsOn: string[];
  location?: SourceLocation;
}

export interface LayerOrder {
  ordered: string[];
  findings: Finding[];
}

/** Kahn's algorithm; ties keep declaration order so output is stable across runs. */
export function orderLayers(nodes: readonly LayerNode[], context: { environment?: string } = {}): LayerOrder {
  const findings: Finding[] = [];
  const byName = new Map(nodes.map((node) => [node.name, node]));
  const edges = new Map<string, string[]>();
  for (const node of nodes) {
    const known: string[] = [];
    for (const dependency of node.dependsOn) {
      if (byName.has(dependency)) {
        known.push(dependency);
        continue;
      }
      findings.push({
        severity: "error",
        check: "fleet/dangling-depends-on",
        ...locationOf(node.location),
        ...(context.environment ? { environment: context.environment } : {}),
        layer: node.name,
        message: `${node.name} depends on "${dependency}", which does not exist${context.environment ? ` in ${context.environment}` : ""}`,
        hint: `known layers: ${[...byName.keys()].join(", ")}`,
      });
    }
    edges.set(node.name, known);
  }

  const ordered: string[] = [];
  const placed = new Set<string>();
  while (ordered.length < nodes.length) {
    const next = nodes.find((node) => !placed.has(node.name) && (edges.get(node.name) ?? []).every((d) => placed.has(d)));
    if (!next) break;
    ordered.push(next.name);
    placed.add(next.name);
  }

  const stuck = nodes.filter((node) => !placed.has(node.name));
  if (stuck.length > 0) {
    const cycle = findCycle(
      stuck.map((node) => node.name),
      edges,
    );
    const first = byName.get(cycle[0] ?? "");
    findings.push({
      severity: "error",
      check: "fleet/dependency-cycle",
      ...locationOf(first?.location),
      ...(context.environment ? { environment: context.environment } : {}),
      message: `dependsOn cycle: ${[...cycle, cycle[0]].join(" -> ")}`,
      hint: "Flux would never reconcile these layers; remove one of the dependsOn entries",
    });
    // Keep going with a deterministic order so later checks still run on every overlay.
    ordered.push(...stuck.map((node) => node.name));
  }
  return { ordered, findings };
}

function findCycle(candidates: string[], edges: Map<string, string[]>): string[] {
  const inCandidates = new Set(candidates);
  for (const start of candidates) {
    const pathStack: string[] = [];
    const seen = new Set<string>();
    const walk = (name: string): string[] | undefined => {
      const at = pathStack.indexOf(name);
      if (at >= 0) return pathStack.slice(at);
      if (seen.has(name)) return undefined;
      seen.add(name);
      pathStack.push(name);
      for (const dependency of edges.get(name) ?? []) {
        if (!inCandidates.has(dependency)) continue;
        const cycle = walk(dependency);
        if (cycle) return cycle;
      }
      pathStack.pop();
      return undefined;
    };
    const cycle = walk(start);
    if (cycle) return cycle;
  }
  return candidates;
}

function locationOf(location: SourceLocation | undefined): { file?: string; line?: number } {
  if (!location) return {};
  return { file: location.file, ...(location.line ? { line: location.line } : {}) };
}
