import { describe, expect, it } from "vitest";
import { UserError } from "../../../core/errors.ts";
import { chooseFluxSchemas, loadFluxSchemaStore, parseReleaseImages, type FluxSchemaStore } from "../../../core/schemas/flux-releases.ts";
import { makeTempDir } from "../../helpers/temp-repo.ts";
import { formatRelease, parseRelease, type ReleaseVersion } from "../../../core/schemas/flux-versions.ts";

describe("choosing the Flux schema folder for a pin", () => {
  const at = (...versions: string[]) => versions.map((text) => parseRelease(text)!);
  const store: FluxSchemaStore = {
    dir: "/tools/schemas/flux",
    schemaReleases: at("v2.2.3", "v2.6.4", "v2.9.5"),
    releases: parseReleaseImages(
      [
        "v2.2.3:\n  images:\n    - name: ghcr.io/fluxcd/source-controller\n      newTag: v1.2.4\n    - name: ghcr.io/fluxcd/kustomize-controller\n      newTag: v1.2.2",
        "v2.6.0:\n  images:\n    - name: ghcr.io/fluxcd/source-controller\n      newTag: v1.6.0\n    - name: ghcr.io/fluxcd/kustomize-controller\n      newTag: v1.6.0",
        "v2.6.1:\n  images:\n    - name: ghcr.io/fluxcd/source-controller\n      newTag: v1.6.0\n    - name: ghcr.io/fluxcd/kustomize-controller\n      newTag: v1.6.0",
        "v2.6.4:\n  images:\n    - name: ghcr.io/fluxcd/source-controller\n      newTag: v1.6.2\n    - name: ghcr.io/fluxcd/kustomize-controller\n      newTag: v1.6.1",
        "v2.9.5:\n  images:\n    - name: ghcr.io/fluxcd/source-controller\n      newTag: v1.9.5",
      ].join("\n"),
    ),
  };
  const schemas = (choice: { schemas: ReleaseVersion }) => formatRelease(choice.schemas);

  it("uses the newest release when nothing pins Flux", () => {
    expect(chooseFluxSchemas(store, undefined)).toEqual({ schemas: parseRelease("v2.9.5") });
  });

  it("maps a release to its minor's folder", () => {
    expect(schemas(chooseFluxSchemas(store, { kind: "release", text: "v2.6.1" }))).toBe("v2.6.4");
    expect(chooseFluxSchemas(store, { kind: "release", text: "v2.6.1" }).problem).toBeUndefined();
  });

  it("maps a range to the newest release it allows", () => {
    expect(schemas(chooseFluxSchemas(store, { kind: "constraint", text: "2.x" }))).toBe("v2.9.5");
    expect(schemas(chooseFluxSchemas(store, { kind: "constraint", text: "<2.9" }))).toBe("v2.6.4");
  });

  it("matches controller images to the newest release that has all of them", () => {
    const images = (...pairs: [string, string][]) => ({ kind: "images" as const, images: pairs.map(([controller, tag]) => ({ controller, tag })) });
    expect(chooseFluxSchemas(store, images(["source-controller", "v1.6.0"], ["kustomize-controller", "v1.6.0"]))).toEqual({ schemas: parseRelease("v2.6.4"), release: parseRelease("v2.6.1") });
    expect(schemas(chooseFluxSchemas(store, images(["source-controller", "v1.2.4"])))).toBe("v2.2.3");
    expect(chooseFluxSchemas(store, images(["source-controller", "v9.9.9"])).problem).toMatch(/match no Flux release gitops-ci knows \(v2\.2\.x to v2\.9\.x\)/);
  });

  it("falls back on the nearest folder, with a problem to report, for a release it has no schemas for", () => {
    const older = chooseFluxSchemas(store, { kind: "release", text: "v2.1.0" });
    expect(schemas(older)).toBe("v2.2.3");
    expect(older.problem).toBe("gitops-ci has no schemas for Flux v2.1.x (it has v2.2.x to v2.9.x)");
    expect(schemas(chooseFluxSchemas(store, { kind: "release", text: "v2.10.0" }))).toBe("v2.9.5");
    expect(schemas(chooseFluxSchemas(store, { kind: "release", text: "v2.7.0" }))).toBe("v2.6.4");
    expect(chooseFluxSchemas(store, { kind: "constraint", text: "latest" })).toEqual({ schemas: parseRelease("v2.9.5"), problem: '"latest" is not a semver version or range' });
  });
});

describe("the Flux schemas on disk", () => {
  it("are required: without them a check stops (exit 2) and says how to make them", async () => {
    const toolsDir = await makeTempDir();
    await expect(loadFluxSchemaStore(toolsDir)).rejects.toThrow(UserError);
    await expect(loadFluxSchemaStore(toolsDir)).rejects.toMatchObject({ hint: expect.stringContaining("bash toolchain/flux-schemas.sh") });
  });
});
