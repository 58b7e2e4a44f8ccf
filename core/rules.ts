// `rules:` in gitops-ci.yaml: every check id can be switched off or given another severity.
import type { RuleSetting } from "./config.ts";
import type { Finding } from "./model/findings.ts";

export function applyRules(findings: readonly Finding[], rules: Readonly<Record<string, RuleSetting>>): Finding[] {
  const result: Finding[] = [];
  for (const finding of findings) {
    const setting = rules[finding.check] ?? rules[`${finding.check.split("/")[0]}/*`];
    if (setting === "off") continue;
    result.push(setting ? { ...finding, severity: setting } : finding);
  }
  return result;
}
