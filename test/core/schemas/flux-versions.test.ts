import { describe, expect, it } from "vitest";
import { formatRelease, newestSatisfying, parseConstraint, parseRelease } from "../../../core/schemas/flux-versions.ts";

const releases = ["v2.2.0", "v2.2.3", "v2.3.0", "v2.5.1", "v2.6.0", "v2.6.1", "v2.6.4", "v2.7.5", "v2.9.0", "v2.9.5"].map((text) => parseRelease(text)!);
const newest = (constraint: string) => {
  const parsed = parseConstraint(constraint);
  if (!parsed) return "invalid";
  const found = newestSatisfying(releases, parsed);
  return found ? formatRelease(found) : "none";
};

describe("Flux version constraints (FluxInstance spec.distribution.version, as flux-operator reads them)", () => {
  it.each([
    ["2.x", "v2.9.5"],
    ["*", "v2.9.5"],
    ["2.6.x", "v2.6.4"],
    ["2.6", "v2.6.4"],
    ["2.6.1", "v2.6.1"],
    ["v2.6.1", "v2.6.1"],
    ["=2.6.0", "v2.6.0"],
    ["~2.6.0", "v2.6.4"],
    ["~2.6", "v2.6.4"],
    ["^2.5.1", "v2.9.5"],
    [">=2.4 <2.7", "v2.6.4"],
    [">= 2.4, < 2.7", "v2.6.4"],
    [">2.6", "v2.9.5"],
    ["<2.6", "v2.5.1"],
    ["<=2.6", "v2.6.4"],
    ["<2.6.1", "v2.6.0"],
    ["2.2 - 2.5", "v2.5.1"],
    ["2.2.x || 2.3.x", "v2.3.0"],
    ["!=2.9.5 >=2.9", "v2.9.0"],
    ["3.x", "none"],
  ])("%s → %s", (constraint, expected) => {
    expect(newest(constraint)).toBe(expected);
  });

  it("rejects what is not a version or range", () => {
    expect(parseConstraint("latest")).toBeUndefined();
    expect(parseConstraint(">=two")).toBeUndefined();
    expect(parseRelease("2.6")).toBeUndefined();
  });
});
