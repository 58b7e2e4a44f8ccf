// Flux release versions and the constraints a repository pins them with: an exact release
// (`# Flux Version: v2.6.1` in gotk-components.yaml) or a FluxInstance's
// `spec.distribution.version`, a semver constraint as flux-operator reads it (Masterminds/semver:
// `2.x`, `2.6.x`, `~2.6.0`, `^2.5`, `>=2.5 <2.7`, `2.4 - 2.6`, `a || b`). Pure: no I/O.

export interface ReleaseVersion {
  major: number;
  minor: number;
  patch: number;
}

/** `v2.6.1` or `2.6.1` (a pre-release or build suffix is ignored); undefined for anything else. */
export function parseRelease(text: string): ReleaseVersion | undefined {
  const match = /^v?(\d+)\.(\d+)\.(\d+)(?:[-+].*)?$/.exec(text.trim());
  return match ? { major: Number(match[1]), minor: Number(match[2]), patch: Number(match[3]) } : undefined;
}

export function compareReleases(a: ReleaseVersion, b: ReleaseVersion): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch;
}

export function formatRelease(version: ReleaseVersion): string {
  return `v${version.major}.${version.minor}.${version.patch}`;
}

/** `v2.6.x`: how a minor release line is named in messages. */
export function formatMinor(version: ReleaseVersion): string {
  return `v${version.major}.${version.minor}.x`;
}

export type VersionConstraint = (version: ReleaseVersion) => boolean;

/** A constraint, or undefined when the text is not one (the caller reports it). */
export function parseConstraint(text: string): VersionConstraint | undefined {
  const alternatives = text.split("||").map((alternative) => parseConjunction(alternative.trim()));
  if (alternatives.some((alternative) => alternative === undefined)) return undefined;
  return (version) => alternatives.some((alternative) => alternative!(version));
}

/** The newest version that satisfies the constraint. */
export function newestSatisfying<T extends ReleaseVersion>(versions: readonly T[], constraint: VersionConstraint): T | undefined {
  return [...versions].sort(compareReleases).reverse().find(constraint);
}

interface PartialVersion {
  /** Components given, wildcards (`x`, `X`, `*`) and missing ones as undefined. */
  parts: [number | undefined, number | undefined, number | undefined];
}

function parseConjunction(text: string): VersionConstraint | undefined {
  if (text === "") return () => true;
  // `2.4 - 2.6` (spaces around the dash) is an inclusive range.
  const hyphen = /^(\S+)\s+-\s+(\S+)$/.exec(text);
  if (hyphen) {
    const low = parsePartial(hyphen[1]!);
    const high = parsePartial(hyphen[2]!);
    return low && high ? every([comparator(">=", low), comparator("<=", high)]) : undefined;
  }
  const terms = text
    .replace(/(>=|<=|!=|=|>|<|~>|~|\^)\s+/g, "$1")
    .split(/[\s,]+/)
    .filter(Boolean);
  const comparators: VersionConstraint[] = [];
  for (const term of terms) {
    const match = /^(>=|<=|!=|=|>|<|~>|~|\^)?(.+)$/.exec(term);
    const partial = match ? parsePartial(match[2]!) : undefined;
    if (!match || !partial) return undefined;
    comparators.push(comparator(match[1] ?? "=", partial));
  }
  return every(comparators);
}

function every(comparators: readonly VersionConstraint[]): VersionConstraint {
  return (version) => comparators.every((check) => check(version));
}

function parsePartial(text: string): PartialVersion | undefined {
  const match = /^v?(\d+|[xX*])(?:\.(\d+|[xX*]))?(?:\.(\d+|[xX*]))?(?:[-+].*)?$/.exec(text);
  if (!match) return undefined;
  const part = (value: string | undefined) => (value === undefined || /^[xX*]$/.test(value) ? undefined : Number(value));
  const parts: PartialVersion["parts"] = [part(match[1]), part(match[2]), part(match[3])];
  // A wildcard makes every later component a wildcard too (`2.x.3` is `2.x`).
  const firstWild = parts.findIndex((value) => value === undefined);
  if (firstWild >= 0) for (let index = firstWild; index < 3; index++) parts[index] = undefined;
  return { parts };
}

/** The lowest version of the range a partial version names, and the lowest one above it. */
function bounds(partial: PartialVersion): { low: ReleaseVersion; above: ReleaseVersion | undefined } {
  const [major, minor, patch] = partial.parts;
  if (major === undefined) return { low: { major: 0, minor: 0, patch: 0 }, above: undefined };
  if (minor === undefined) return { low: { major, minor: 0, patch: 0 }, above: { major: major + 1, minor: 0, patch: 0 } };
  if (patch === undefined) return { low: { major, minor, patch: 0 }, above: { major, minor: minor + 1, patch: 0 } };
  return { low: { major, minor, patch }, above: { major, minor, patch: patch + 1 } };
}

function comparator(operator: string, partial: PartialVersion): VersionConstraint {
  const { low, above } = bounds(partial);
  const atLeast = (bound: ReleaseVersion) => (version: ReleaseVersion) => compareReleases(version, bound) >= 0;
  const below = (bound: ReleaseVersion | undefined) => (version: ReleaseVersion) => bound === undefined || compareReleases(version, bound) < 0;
  const inRange = (version: ReleaseVersion) => atLeast(low)(version) && below(above)(version);
  const [major, minor, patch] = partial.parts;
  switch (operator) {
    case "=":
      return inRange;
    case "!=":
      return (version) => !inRange(version);
    case ">":
      return (version) => above !== undefined && atLeast(above)(version);
    case ">=":
      return atLeast(low);
    case "<":
      return (version) => compareReleases(version, low) < 0;
    case "<=":
      return below(above);
    case "~":
    case "~>": {
      // ~2.6.1 and ~2.6: the 2.6 line from that patch; ~2: the 2 line.
      const next = major === undefined ? undefined : minor === undefined ? { major: major + 1, minor: 0, patch: 0 } : { major, minor: minor + 1, patch: 0 };
      return (version) => atLeast(low)(version) && below(next)(version);
    }
    case "^": {
      // ^2.5.1: anything 2.x from 2.5.1; ^0.5: the 0.5 line (semver's rule for 0.x).
      const next =
        major === undefined ? undefined : major > 0 || minor === undefined ? { major: major + 1, minor: 0, patch: 0 } : minor > 0 || patch === undefined ? { major, minor: minor + 1, patch: 0 } : { major, minor, patch: patch + 1 };
      return (version) => atLeast(low)(version) && below(next)(version);
    }
    default:
      return () => false;
  }
}
