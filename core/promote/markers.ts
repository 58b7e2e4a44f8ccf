// The comment `env add` leaves on every value it copied from another environment, and the scan
// that finds them again (for its own listing and for `check`'s standards/unfilled-env-value).
import { classifyValue, type ValueKind } from "./environment-values.ts";

/** The comment text after `#`. */
export function markerComment(environment: string, from: string): string {
  return ` gitops-ci: set for ${environment} (copied from ${from})`;
}

const MARKER = /#\s*gitops-ci: set for (\S+) \(copied from (\S+?)\)/;

export interface MarkedValue {
  /** As given to findMarkers (repository- or overlay-relative). */
  file: string;
  line: number;
  environment: string;
  from: string;
  /** "secret" for a whole file (the marker on a line of its own). */
  kind: ValueKind | "secret" | "value";
  /** The value as written on the line; "" for a whole file. */
  value: string;
}

export function findMarkers(text: string, file: string): MarkedValue[] {
  const found: MarkedValue[] = [];
  text.split("\n").forEach((line, index) => {
    const match = MARKER.exec(line);
    if (!match) return;
    const before = line.slice(0, match.index).trim();
    const value = valueOf(before);
    found.push({
      file,
      line: index + 1,
      environment: match[1]!,
      from: match[2]!,
      kind: before === "" ? "secret" : (classifyValue(value) ?? "value"),
      value,
    });
  });
  return found;
}

/** `key: "value"` or `- value` → value, without quotes. */
function valueOf(text: string): string {
  let value = text;
  const item = /^-\s+(.*)$/.exec(value);
  if (item) value = item[1]!;
  const pair = /^(?:"[^"]*"|'[^']*'|[^:'"]+):\s+(.*)$/.exec(value);
  if (pair) value = pair[1]!;
  else if (/^[^:'"\s]+:$/.test(value)) value = "";
  const quoted = /^(["'])(.*)\1$/.exec(value);
  return quoted ? quoted[2]! : value;
}
