// OCI registry credentials from CI variables: one Docker config JSON for the engine, every secret
// part given to the redactor, a malformed variable named without its content.
import { describe, expect, it } from "vitest";
import { REGISTRY_AUTH_CONFIG, registryAuthConfig, registryVariablePrefix } from "../../../core/flux/registry-auth.ts";
import { UserError } from "../../../core/errors.ts";
import { Redactor } from "../../../core/redaction.ts";

describe("registry credentials from CI variables", () => {
  it("names a registry's variables after its host and port", () => {
    expect(registryVariablePrefix("ghcr.io")).toBe("GITOPS_CI_REGISTRY_GHCR_IO");
    expect(registryVariablePrefix("registry.example.com:5000")).toBe("GITOPS_CI_REGISTRY_REGISTRY_EXAMPLE_COM_5000");
  });

  it("merges the per-host pair over the Docker config JSON, and redacts every password and auth", () => {
    const redactor = new Redactor();
    const config = registryAuthConfig(
      {
        [REGISTRY_AUTH_CONFIG]: JSON.stringify({
          auths: { "ghcr.io": { auth: "Y2Fucnk6Y2FuYXJ5LWF1dGg=" }, "quay.io": { username: "q", password: "canary-quay-password" } },
        }),
        GITOPS_CI_REGISTRY_GHCR_IO_USERNAME: "bot",
        GITOPS_CI_REGISTRY_GHCR_IO_PASSWORD: "canary-ghcr-password",
        GITOPS_CI_REGISTRY_UNUSED_IO_PASSWORD: "not-a-source-host",
      },
      ["ghcr.io", "unused.example"],
      redactor,
    );
    expect(JSON.parse(config!)).toEqual({
      auths: {
        "ghcr.io": { username: "bot", password: "canary-ghcr-password" },
        "quay.io": { username: "q", password: "canary-quay-password" },
      },
    });
    const text = redactor.redact("canary-ghcr-password canary-quay-password Y2Fucnk6Y2FuYXJ5LWF1dGg=");
    expect(text).not.toMatch(/canary|Y2Fucnk6/);
  });

  it("is nothing without variables, and a UserError that does not echo a malformed JSON", () => {
    expect(registryAuthConfig({}, ["ghcr.io"], new Redactor())).toBeUndefined();
    let error: unknown;
    try {
      registryAuthConfig({ [REGISTRY_AUTH_CONFIG]: "{canary-not-json" }, [], new Redactor());
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(UserError);
    expect((error as Error).message + String((error as UserError).hint)).not.toContain("canary");
  });
});
