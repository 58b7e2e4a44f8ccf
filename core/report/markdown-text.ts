// Text from tools, manifests and file names inside GitLab Markdown: the one place that decides what
// is escaped. Only what Markdown or GitLab would act on is escaped, so a note stays searchable for
// the words in it (`gitops-ci`, `does-not-exist`); names that must read verbatim go in code spans.
import { stripAnsi } from "./summary.ts";

/** Control characters other than tab and line breaks become visible `\u001b` text; colour codes go. */
export function visibleControls(text: string): string {
  return stripAnsi(text).replace(
    /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/g,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/**
 * Characters that start Markdown or GitLab syntax anywhere in a line: the backslash itself, code
 * spans, emphasis, links and images, HTML and autolinks, table cells, strikethrough, GitLab's inline
 * diff (`{+ +}`) and its references (`@user`, `#1`, `!1`, `~label`, `%milestone`, `$snippet`,
 * `&epic`). CommonMark lets any ASCII punctuation be backslash-escaped, and GitLab leaves an escaped
 * reference alone.
 */
const INLINE_SYNTAX = /[\\`*[\]<>|!~#@$%&{}]/g;

/** A leading list marker, heading, blockquote or setext underline: a line of its own would turn into them. */
const LINE_START_SYNTAX = /^(\s*)([-+=]|\d+(?=[.)]))/;

/**
 * One line of plain text, inert in running Markdown (a list item, a table cell): line breaks become
 * spaces. `_` is escaped only where it could open or close emphasis, never inside a word
 * (`does_not_exist` stays as it is).
 */
export function escapeMarkdown(text: string): string {
  return visibleControls(text)
    .replace(/[\r\n\t]+/g, " ")
    .replace(INLINE_SYNTAX, (char) => `\\${char}`)
    .replace(/(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])/g, "\\_")
    .replace(LINE_START_SYNTAX, (_, space: string, marker: string) => `${space}\\${marker}`);
}

/** Like {@link escapeMarkdown}, keeping line breaks as `<br>` so a finding stays one list item; nothing is cut. */
export function escapeMultiline(text: string): string {
  return visibleControls(text)
    .trim()
    .split(/\r\n|\r|\n/)
    .map((line) => escapeMarkdown(line))
    .join("<br>");
}

/** Inline code that survives backticks in its content: the fence is one backtick longer than any run inside. */
export function codeSpan(text: string): string {
  const content = visibleControls(text).replace(/[\r\n\t]+/g, " ");
  const longestRun = Math.max(0, ...(content.match(/`+/g) ?? []).map((run) => run.length));
  const fence = "`".repeat(longestRun + 1);
  const padded =
    content.startsWith("`") || content.endsWith("`") || (content.startsWith(" ") && content.endsWith(" ")) ? ` ${content} ` : content;
  return `${fence}${padded}${fence}`;
}

/** The fence of a code block that no line of `text` can close: longer than any backtick run inside. */
export function fenceFor(text: string): string {
  return "`".repeat(Math.max(3, ...(text.match(/`+/g) ?? []).map((run) => run.length + 1)));
}

/** Text inside HTML (`<summary>`, `<code>`): entities for what HTML would read as markup. */
export function escapeHtml(text: string): string {
  return visibleControls(text).replace(/[&<>"']/g, (char) => HTML_ENTITIES[char]!);
}

const HTML_ENTITIES: Readonly<Record<string, string>> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** A link target that cannot break out of `(...)`. */
export function safeUrl(url: string): string {
  return url.replace(/[\s()<>]/g, (char) => encodeURIComponent(char));
}

export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}
