import { describe, expect, it } from "vitest";
import { parseEnvironmentList } from "../../../tasks/promote/index.ts";

describe("the promotion order handed over by the pipeline component", () => {
  it("reads a GitLab array input as interpolated into a variable, or a plain list", () => {
    expect(parseEnvironmentList('["staging", "prod"]')).toEqual(["staging", "prod"]);
    expect(parseEnvironmentList("staging, prod")).toEqual(["staging", "prod"]);
    expect(parseEnvironmentList("")).toEqual([]);
    expect(parseEnvironmentList(undefined)).toEqual([]);
  });
});
