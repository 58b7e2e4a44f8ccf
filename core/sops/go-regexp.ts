// sops matches path_regex, encrypted_regex and the other key regexes with Go's regexp (RE2).
// re2js is a port of Go's RE2 (same syntax, same errors, linear time), so a pattern means here
// what it means to sops, and one sops cannot compile is reported instead of silently used.
import { RE2JS } from "re2js";

/** A compiled Go regexp; `test` matches anywhere in the input, like Go's MatchString. */
export interface GoRegexp {
  readonly source: string;
  test(input: string): boolean;
}

export type GoRegexpResult = { ok: true; regexp: GoRegexp } | { ok: false; reason: string };

export function compileGoRegexp(source: string): GoRegexpResult {
  let compiled: RE2JS;
  try {
    compiled = RE2JS.compile(source);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { ok: false, reason: message.replace(/^error parsing regexp: /, "") };
  }
  return { ok: true, regexp: { source, test: (input) => compiled.matcher(input).find() } };
}
