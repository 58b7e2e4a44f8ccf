// Decides, field by field, what moves from one environment's overlay to another's.
//
// The rule, in order:
//   1. Equal values: nothing to do.
//   2. Environment-specific: never promoted. A field `promote.exclude` names; any field of a Secret
//      or SealedSecret (and secret files); a value that is an IP address, CIDR, URL (ACME issuer
//      servers), e-mail address or host name, or that contains either environment's name as a word
//      (`gitlab-smtp-staging`, `letsencrypt-staging`); capacity fields (replicas, resource requests
//      and limits, storage sizes and classes, autoscaling) unless `promote.paths` names them.
//      nameSuffix, namePrefix and the overlay's own list of resources are not fields and never move.
//   3. Promoted: kustomize `images:` tags, digests and names; HelmRelease chart versions; other
//      version-like fields (`tag`, `digest`, `version`, `image: repo:tag`); fields `promote.paths`
//      names; and any other field the source overlay sets while the target inherits the base
//      value (the target overlay gains the override).
//   4. Anything else the two overlays both set, differently, stays: that difference is the target's
//      own configuration (list the field in `promote.paths` to promote it anyway).
import { classifyValue, isCapacityField, isSecretSubject, isVersionField } from "./environment-values.ts";
import { matchesFieldPattern, type FieldPattern } from "./field-patterns.ts";
import type {
  EnvironmentSpecificKind,
  KeptDifference,
  OverlaySetting,
  OverlaySettings,
  Promotion,
  PromotionReason,
  Subject,
} from "../model/promotion.ts";
import { settingKey, subjectKey } from "../model/promotion.ts";

export interface PromotionRules {
  /** Promoted even when both environments set them differently (capacity fields included). */
  paths: readonly FieldPattern[];
  /** Never promoted. */
  exclude: readonly FieldPattern[];
  /** Only the HelmRelease (any object) and images of this name. */
  component?: string;
}

export interface PlannedPromotion extends Promotion {
  source: OverlaySetting;
  target?: OverlaySetting;
}

export interface Comparison {
  promotions: PlannedPromotion[];
  kept: KeptDifference[];
}

export function comparePromotable(layer: string, source: OverlaySettings, target: OverlaySettings, rules: PromotionRules): Comparison {
  const environments = [source.environment, target.environment];
  const targetByKey = lastByKey(target.settings);
  const promotions: PlannedPromotion[] = [];
  const kept: KeptDifference[] = [];
  const onlyInSource = new Set<string>();

  for (const [key, setting] of lastByKey(source.settings)) {
    if (!matchesComponent(setting.subject, rules.component)) continue;
    const existing = targetByKey.get(key);
    if (existing && sameValue(setting.value, existing.value)) continue;
    const difference = {
      layer,
      subject: setting.subject,
      path: setting.path,
      value: setting.value,
      ...(existing ? { previous: existing.value } : {}),
      targetHasValue: existing !== undefined,
      sourceFile: setting.container.file,
    };
    if (setting.form === "resource" && !target.resourceSubjects.has(subjectKey(setting.subject))) {
      // An object only the source overlay defines: copying it is a decision for a person.
      if (!onlyInSource.has(subjectKey(setting.subject))) kept.push({ ...difference, path: [], reason: "only-in-source" });
      onlyInSource.add(subjectKey(setting.subject));
      continue;
    }
    const specific = environmentSpecific(setting, existing, environments, rules);
    if (specific) {
      kept.push({ ...difference, reason: specific });
      continue;
    }
    const reason = promotionReason(setting, existing, rules);
    if (!reason) {
      kept.push({ ...difference, reason: "set-in-both" });
      continue;
    }
    promotions.push({ ...difference, reason, source: setting, ...(existing ? { target: existing } : {}) });
  }
  return { promotions, kept };
}

/** Why a field stays with its environment, if it does. */
export function environmentSpecific(
  setting: Pick<OverlaySetting, "subject" | "path" | "value">,
  existing: Pick<OverlaySetting, "value"> | undefined,
  environments: readonly string[],
  rules: Pick<PromotionRules, "paths" | "exclude">,
): EnvironmentSpecificKind | undefined {
  if (rules.exclude.some((pattern) => matchesFieldPattern(pattern, setting.subject, setting.path))) return "excluded";
  if (isSecretSubject(setting.subject)) return "secret";
  const key = setting.path.at(-1);
  const versionLike = setting.subject.type === "image" || isVersionField(setting.path, setting.value);
  const where = { ...(key !== undefined ? { key } : {}), environments };
  const kind = classifyValue(setting.value, where) ?? (existing ? classifyValue(existing.value, where) : undefined);
  // A version is never an address; only the environment's name in it (a `-staging` tag) keeps it.
  if (kind && (!versionLike || kind === "environment-name")) return kind;
  if (isCapacityField(setting.path) && !rules.paths.some((pattern) => matchesFieldPattern(pattern, setting.subject, setting.path)))
    return "capacity";
  return undefined;
}

function promotionReason(
  setting: OverlaySetting,
  existing: OverlaySetting | undefined,
  rules: PromotionRules,
): PromotionReason | undefined {
  if (setting.subject.type === "image") return "image";
  if (setting.subject.kind === "HelmRelease" && setting.path.join(".") === "spec.chart.spec.version") return "chart-version";
  if (isVersionField(setting.path, setting.value)) return "version";
  if (rules.paths.some((pattern) => matchesFieldPattern(pattern, setting.subject, setting.path))) return "configured-path";
  if (!existing) return "new-override";
  return undefined;
}

export function matchesComponent(subject: Subject, component: string | undefined): boolean {
  if (!component) return true;
  if (subject.type === "image") return subject.name === component || subject.name.split("/").at(-1) === component;
  return subject.name === component;
}

/** Kustomize applies patches in order: the last setting of a field wins. */
function lastByKey(settings: readonly OverlaySetting[]): Map<string, OverlaySetting> {
  const byKey = new Map<string, OverlaySetting>();
  for (const setting of settings) {
    const key = settingKey(setting.subject, setting.path);
    byKey.delete(key);
    byKey.set(key, setting);
  }
  return byKey;
}

export function sameValue(a: unknown, b: unknown): boolean {
  return stableJson(a) === stableJson(b);
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(",")}]`;
  if (typeof value === "object" && value !== null) {
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${stableJson((value as Record<string, unknown>)[key])}`)
      .join(",")}}`;
  }
  // JSON.stringify(undefined) is undefined, whatever its declared type says.
  const text = JSON.stringify(value) as string | undefined;
  return text ?? "undefined";
}
