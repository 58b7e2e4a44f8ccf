// sops matches path_regex, encrypted_regex and the other key regexes with Go's regexp (RE2).
// This compiles such a pattern for JavaScript with the same meaning, and rejects what Go rejects
// (look-around, back-references) so a pattern sops cannot compile is reported, not silently used.

export type GoRegexpResult = { ok: true; regexp: RegExp } | { ok: false; reason: string };

const POSIX_CLASSES: Record<string, string> = {
  alnum: "0-9A-Za-z",
  alpha: "A-Za-z",
  ascii: "\\x00-\\x7F",
  blank: "\\t ",
  cntrl: "\\x00-\\x1F\\x7F",
  digit: "0-9",
  graph: "!-~",
  lower: "a-z",
  print: " -~",
  punct: "!-\\/:-@\\[-`{-~",
  space: "\\t\\n\\v\\f\\r ",
  upper: "A-Z",
  word: "0-9A-Za-z_",
  xdigit: "0-9A-Fa-f",
};

/** Compiles a Go RE2 pattern; the result matches anywhere in the input, like Go's MatchString. */
export function compileGoRegexp(source: string): GoRegexpResult {
  let pattern = source;
  let flags = "";
  // A leading flag group applies to the whole pattern: (?i), (?s), (?m), (?is)…
  const leading = /^\(\?([imsU]+)\)/.exec(pattern);
  if (leading) {
    if (leading[1]!.includes("U")) return { ok: false, reason: "the (?U) ungreedy flag has no JavaScript equivalent" };
    flags = [...new Set(leading[1]!.split(""))].join("");
    pattern = pattern.slice(leading[0].length);
  }
  const translated = translate(pattern);
  if (!translated.ok) return translated;
  try {
    return { ok: true, regexp: new RegExp(translated.source, flags) };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { ok: false, reason: message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /, "") };
  }
}

function translate(pattern: string): { ok: true; source: string } | { ok: false; reason: string } {
  let out = "";
  let inClass = false;
  for (let i = 0; i < pattern.length; i += 1) {
    const char = pattern[i]!;
    const rest = pattern.slice(i);
    if (char === "\\") {
      const next = pattern[i + 1];
      if (next === undefined) return { ok: false, reason: "trailing backslash at end of expression" };
      if (!inClass && /[1-9]/.test(next)) return { ok: false, reason: `invalid escape sequence \\${next} (Go regexp has no back-references)` };
      if (next === "Q") {
        const end = pattern.indexOf("\\E", i + 2);
        const literal = pattern.slice(i + 2, end === -1 ? undefined : end);
        out += literal.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&");
        i = end === -1 ? pattern.length : end + 1;
        continue;
      }
      if (!inClass && next === "A") {
        out += "(?<![\\s\\S])";
        i += 1;
        continue;
      }
      if (!inClass && next === "z") {
        out += "(?![\\s\\S])";
        i += 1;
        continue;
      }
      if (next === "p" || next === "P" || next === "C" || (next === "x" && pattern[i + 2] === "{")) {
        return { ok: false, reason: `\\${next} escapes are not supported by gitops-ci's regexp translation` };
      }
      out += char + next;
      i += 1;
      continue;
    }
    if (inClass) {
      const posix = /^\[:(\^?)([a-z]+):\]/.exec(rest);
      if (posix) {
        const range = POSIX_CLASSES[posix[2]!];
        if (!range) return { ok: false, reason: `invalid character class range [:${posix[2]}:]` };
        if (posix[1]) return { ok: false, reason: "negated POSIX classes are not supported by gitops-ci's regexp translation" };
        out += range;
        i += posix[0].length - 1;
        continue;
      }
      if (char === "]") inClass = false;
      out += char;
      continue;
    }
    if (char === "[") {
      inClass = true;
      out += char;
      // A leading ] or ^] is a literal in Go, as in JavaScript's non-unicode mode.
      if (pattern[i + 1] === "^") {
        out += "^";
        i += 1;
      }
      if (pattern[i + 1] === "]") {
        out += "\\]";
        i += 1;
      }
      continue;
    }
    if (rest.startsWith("(?=") || rest.startsWith("(?!") || rest.startsWith("(?<=") || rest.startsWith("(?<!")) {
      return { ok: false, reason: "invalid or unsupported Perl syntax: look-around assertions are not supported by Go regexp" };
    }
    if (rest.startsWith("(?P<")) {
      out += "(?<";
      i += 3;
      continue;
    }
    if (rest.startsWith("(?P=")) return { ok: false, reason: "invalid named capture reference (Go regexp has no back-references)" };
    out += char;
  }
  if (inClass) return { ok: false, reason: "missing closing ]" };
  return { ok: true, source: out };
}
