// The .gitlab-ci.yml include of the gitops-ci component (pipeline/templates/gitops-ci.yml) with the
// inputs the fleet calls for: its environments in promotion order, and `mode: static` with the three
// layer names when every environment is the same three-layer chain, `mode: generated` otherwise.
import { stringify } from "yaml";
import type { GitopsCiConfig } from "../../core/config.ts";
import type { Fleet } from "../../core/model/fleet.ts";

export interface CiInclude {
  mode: "static" | "generated";
  environments: string[];
  /** The include entry, as data. */
  entry: { component: string; inputs: Record<string, unknown> };
  /** The `include:` block, with its comments. */
  yaml: string;
  /** What the user still has to look at. */
  notes: string[];
}

export interface CiIncludeOptions {
  version: string;
  component?: string;
  image?: string;
}

/** The component's defaults for the three layer inputs of mode static. */
const STATIC_DEFAULTS = ["controllers", "configs", "apps"] as const;
const STATIC_INPUTS = ["controllers-layer", "configs-layer", "apps-layer"] as const;

export function ciInclude(fleet: Fleet, config: GitopsCiConfig | undefined, options: CiIncludeOptions): CiInclude {
  const component = options.component ?? `$CI_SERVER_FQDN/platform/gitops-ci/gitops-ci@${options.version}`;
  const image = options.image ?? `$CI_REGISTRY/platform/gitops-ci:${options.version}`;
  const environments = config?.promote.order.length
    ? orderLike(
        fleet.environments.map((env) => env.name),
        config.promote.order,
      )
    : promotionOrder(fleet.environments.map((env) => env.name));
  const chain = staticChain(fleet);
  const inputs: Record<string, unknown> = { image, environments };
  const notes: string[] = [];
  if (chain) {
    chain.forEach((layer, index) => {
      if (layer !== STATIC_DEFAULTS[index]) inputs[STATIC_INPUTS[index]!] = layer;
    });
  } else {
    inputs["mode"] = "generated";
    notes.push(
      `mode generated: ${fleet.layers.length} layers (${describeLayers(fleet)}) are not one controllers -> configs -> apps chain in every environment, so a child pipeline runs one job per overlay; it needs the report token`,
    );
  }
  if (!options.component)
    notes.push(
      "platform/gitops-ci is where the gitops-ci project lives on your GitLab: change both references (or pass --component and --image) if it lives elsewhere",
    );
  const entry = { component, inputs };
  const body = stringify({ include: [entry] }, { flowCollectionPadding: false, lineWidth: 0 }).replace(
    /environments:\n((?:\s+- .*\n)+)/,
    () => `environments: [${environments.join(", ")}]\n`,
  );
  const yaml = [
    "# gitops-ci: checks every overlay in merge requests, one note per merge request (written by `gitops-ci init`).",
    `# Environments are in promotion order: promote takes each one's default --from from it.`,
    body,
  ].join("\n");
  return { mode: chain ? "static" : "generated", environments, entry, yaml, notes };
}

/** The three layers of mode static, when every environment has exactly them, each after the one before. */
function staticChain(fleet: Fleet): string[] | undefined {
  if (fleet.layers.length !== 3) return undefined;
  const [first, second, third] = fleet.layers.map((layer) => layer.name) as [string, string, string];
  for (const environment of fleet.environments) {
    const own = fleet.overlays.filter((overlay) => overlay.environment === environment.name);
    if (own.length !== 3) return undefined;
    const of = (layer: string) => own.find((overlay) => overlay.layer === layer);
    const a = of(first);
    const b = of(second);
    const c = of(third);
    if (!a || !b || !c) return undefined;
    if (
      a.dependsOn.length !== 0 ||
      b.dependsOn.join() !== first ||
      !c.dependsOn.includes(second) ||
      c.dependsOn.some((layer) => layer !== first && layer !== second)
    )
      return undefined;
  }
  return [first, second, third];
}

function describeLayers(fleet: Fleet): string {
  const names = fleet.layers.map((layer) => layer.name);
  return names.length > 5 ? `${names.slice(0, 4).join(", ")}, ...` : names.join(", ");
}

/** Environments people promote through, earliest first; unknown names in between, by name. */
export function promotionOrder(names: readonly string[]): string[] {
  const rank = (name: string) => {
    if (/^(local|dev|develop|development|sandbox)/i.test(name)) return 0;
    if (/^(test|qa|int|integration|ci)/i.test(name)) return 1;
    if (/^(stag|stage|uat|pre|preprod|canary)/i.test(name)) return 3;
    if (/^(prod|production|live|prd)/i.test(name)) return 4;
    return 2;
  };
  return [...names].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

function orderLike(names: readonly string[], order: readonly string[]): string[] {
  const position = (name: string) => (order.includes(name) ? order.indexOf(name) : order.length);
  return [...names].sort((a, b) => position(a) - position(b) || a.localeCompare(b));
}
