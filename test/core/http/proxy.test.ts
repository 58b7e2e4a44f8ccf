import { describe, expect, it } from "vitest";
import { bypassesProxy, isLoopback, proxyFor, proxyPasswords, proxySettingsFromEnv } from "../../../core/http/proxy.ts";
import { UserError } from "../../../core/errors.ts";

describe("proxy variables, as Go's net/http reads them", () => {
  it("takes the upper-case name first, then the lower-case one, and ignores empty values", () => {
    expect(
      proxySettingsFromEnv({
        HTTPS_PROXY: "http://upper:3128",
        https_proxy: "http://lower:3128",
        http_proxy: "lower:8080",
        NO_PROXY: " ",
        no_proxy: ".corp",
      }),
    ).toEqual({
      httpsProxy: "http://upper:3128",
      httpProxy: "lower:8080",
      noProxy: ".corp",
    });
    expect(proxySettingsFromEnv({})).toEqual({});
  });

  it("picks HTTPS_PROXY for https:// and HTTP_PROXY for http://; a proxy without a scheme is http://", () => {
    const settings = { httpsProxy: "proxy.corp:3128", httpProxy: "http://plain.corp:8080" };
    expect(proxyFor(new URL("https://gitlab.com/api/v4"), settings)?.href).toBe("http://proxy.corp:3128/");
    expect(proxyFor(new URL("http://gitlab.corp/api/v4"), settings)?.href).toBe("http://plain.corp:8080/");
    expect(proxyFor(new URL("https://gitlab.com"), { httpProxy: "http://plain.corp:8080" })).toBeUndefined();
  });

  it("never proxies loopback", () => {
    const settings = { httpsProxy: "http://proxy:3128", httpProxy: "http://proxy:3128" };
    for (const url of [
      "http://127.0.0.1:8080",
      "https://localhost:6443",
      "https://[::1]:6443",
      "http://127.1.2.3",
      "http://api.localhost",
    ]) {
      expect(proxyFor(new URL(url), settings), url).toBeUndefined();
    }
    expect(isLoopback("128.0.0.1")).toBe(false);
    expect(isLoopback("::2")).toBe(false);
  });

  it("NO_PROXY: *, names with their subdomains, .subdomains only, IPs, CIDR ranges, ports", () => {
    const cases: [string, string, string, boolean][] = [
      ["gitlab.com", "443", "*", true],
      ["gitlab.com", "443", "gitlab.com", true],
      ["api.gitlab.com", "443", "gitlab.com", true],
      ["notgitlab.com", "443", "gitlab.com", false],
      ["gitlab.com", "443", ".gitlab.com", false],
      ["api.gitlab.com", "443", ".gitlab.com", true],
      ["api.gitlab.com", "443", "*.gitlab.com", true],
      ["GitLab.Corp.", "443", "gitlab.corp", true],
      ["gitlab.corp", "443", "gitlab.corp:443", true],
      ["gitlab.corp", "8443", "gitlab.corp:443", false],
      ["10.1.2.3", "443", "10.1.2.3", true],
      ["10.1.2.4", "443", "10.1.2.3", false],
      ["10.1.2.3", "443", "10.0.0.0/8", true],
      ["11.1.2.3", "443", "10.0.0.0/8", false],
      ["fd00::5", "443", "fd00::/8", true],
      ["fd00::5", "443", "[fd00::5]:443", true],
      ["fd00::5", "6443", "[fd00::5]:443", false],
      ["gitlab.corp", "443", " other.corp , gitlab.corp ,", true],
      ["gitlab.corp", "443", "", false],
      ["gitlab.corp", "443", "10.0.0.0/8", false],
    ];
    for (const [host, port, noProxy, expected] of cases)
      expect(bypassesProxy(host, port, noProxy), `${host}:${port} NO_PROXY=${noProxy}`).toBe(expected);
  });

  it("exempts by NO_PROXY on the target's effective port", () => {
    expect(
      proxyFor(new URL("https://gitlab.corp/api/v4"), { httpsProxy: "http://proxy:3128", noProxy: "gitlab.corp:443" }),
    ).toBeUndefined();
    expect(
      proxyFor(new URL("https://gitlab.corp:8443/api/v4"), { httpsProxy: "http://proxy:3128", noProxy: "gitlab.corp:443" }),
    ).toBeDefined();
  });

  it("refuses a proxy it cannot use, naming the variable and not the password", () => {
    const error = (() => {
      try {
        proxyFor(new URL("https://gitlab.com"), { httpsProxy: "socks5://user:hunter2@proxy:1080" });
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(UserError);
    expect((error as Error).message).toContain("HTTPS_PROXY");
    expect((error as Error).message).not.toContain("hunter2");
  });

  it("finds the passwords in proxy URLs, as written and decoded, for the redactor", () => {
    expect(proxyPasswords("http://user:p%40ss@proxy:3128", undefined, "http://proxy:3128", "http://only-user@proxy:3128")).toEqual([
      "p%40ss",
      "p@ss",
    ]);
  });
});
