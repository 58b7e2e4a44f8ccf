import { describe, expect, it } from "vitest";
import { substituteVariables } from "../../../core/flux/envsubst.ts";

describe("substituteVariables (Flux postBuild semantics)", () => {
  it("replaces ${var} and applies defaults", () => {
    const { text, missing } = substituteVariables("a: ${env}\nb: ${replicas:=2}\nc: ${unset:-x}\nd: ${empty:=d}\ne: ${empty=e}", { env: "prod", empty: "" });
    expect(text).toBe("a: prod\nb: 2\nc: x\nd: d\ne: ");
    expect(missing).toEqual([]);
  });

  it("leaves $var and escaped $${var} alone, as kustomize-controller does", () => {
    expect(substituteVariables("x: $HOME\ny: $${env}", { env: "prod", HOME: "/root" }).text).toBe("x: $HOME\ny: ${env}");
  });

  it("reports variables with no value (Flux would substitute an empty string)", () => {
    expect(substituteVariables("host: app.${domain}", {})).toEqual({ text: "host: app.", missing: ["domain"] });
  });
});
