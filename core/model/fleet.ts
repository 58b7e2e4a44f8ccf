// The fleet: which environments a repository deploys, its layers, and the overlay that Flux
// reconciles for each layer in each environment, in dependency order.

import type { EngineResult } from "../flux/engine.ts";

export type FleetSource = "config" | "flux-clusters" | "layout-a" | "layout-b";

export interface SourceLocation {
  file: string;
  line?: number;
}

export interface FluxPostBuild {
  substitute?: Record<string, string>;
  substituteFrom?: { kind: "ConfigMap" | "Secret"; name: string; optional?: boolean }[];
}

/** A Flux Kustomization object found in the repository (kustomize.toolkit.fluxcd.io). */
export interface FluxKustomizationRef {
  name: string;
  namespace: string;
  location: SourceLocation;
  targetNamespace?: string;
  postBuild?: FluxPostBuild;
  /** The whole object as the cluster holds it (after its parent's patches and substitutions). */
  object?: Record<string, unknown>;
}

/** What building an overlay's Flux Kustomization gave, when discovery built it already. */
export interface OverlayBuild {
  result: EngineResult;
  /** substituteFrom sources whose values were not known: their variables stayed ${NAME}. */
  unresolved: string[];
}

export interface Environment {
  name: string;
  /** kubeconfig context used to reach this environment's cluster. */
  kubeContext?: string;
}

export interface Layer {
  name: string;
  dependsOn: string[];
  /** Folder holding base/ and overlays/, where the layout has one. */
  path?: string;
}

export interface Overlay {
  environment: string;
  layer: string;
  /** Repository-relative folder passed to `kustomize build`. */
  path: string;
  /** Layers of the same environment this overlay waits for. */
  dependsOn: string[];
  /** Position in the environment's reconcile order, from 1. */
  order: number;
  definedIn?: SourceLocation;
  flux?: FluxKustomizationRef;
  build?: OverlayBuild;
}

export interface Fleet {
  /** Absolute path of the repository. */
  root: string;
  source: FleetSource;
  /** The file the plan came from, when there is one (the config file). */
  sourceFile?: string;
  environments: Environment[];
  /** Every layer, in reconcile order. */
  layers: Layer[];
  /** Every overlay, grouped by environment, each group in reconcile order. */
  overlays: Overlay[];
}

export function overlaysOf(fleet: Fleet, environment: string): Overlay[] {
  return fleet.overlays.filter((overlay) => overlay.environment === environment);
}
