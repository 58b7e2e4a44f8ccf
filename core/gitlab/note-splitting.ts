// A report longer than a GitLab note becomes several notes, never a shortened one. Parts break
// between top-level sections (`<details>` blocks) where they can; a section too long for a note of
// its own is broken between lines, closing the open `<details>` and code fences at the end of one
// part and reopening them, marked "(continued)", at the start of the next. Each part says which
// part it is and links the full report artifact.
/** GitLab rejects a note body longer than this many characters (docs/api/notes.md, `body`). */
export const GITLAB_NOTE_LIMIT = 1_000_000;

/** Room kept free in every part for the hidden marker line the note upsert puts first. */
export const MARKER_RESERVE = 200;

export interface SplitOptions {
  /**
   * Longest a note may be, in UTF-16 code units: never fewer than the characters GitLab counts, so
   * a part within it is within GitLab's limit too.
   */
  limit?: number;
  /** Kept free in each part for the caller's own additions (the marker). */
  reserve?: number;
  /** Link to the full report artifact, repeated in every part. */
  fullReportUrl?: string;
  /** Name of the report in the part headers. */
  title?: string;
}

/** The upper bound on parts the header is sized for: its width never changes once parts are counted. */
const MAX_PARTS = 9_999;

export function splitNote(markdown: string, options: SplitOptions = {}): string[] {
  const limit = (options.limit ?? GITLAB_NOTE_LIMIT) - (options.reserve ?? MARKER_RESERVE);
  const body = markdown.endsWith("\n") ? markdown : `${markdown}\n`;
  if (body.length <= limit) return [body];

  const decorate = (part: number, total: number, text: string) => `${partHeader(part, total, options)}${text}${partFooter(part, total)}`;
  const budget = limit - partHeader(MAX_PARTS, MAX_PARTS, options).length - partFooter(MAX_PARTS - 1, MAX_PARTS).length;
  if (budget < 200) throw new RangeError(`a note limit of ${limit} characters leaves no room for a report part`);

  const parts = packUnits(sectionsOf(body), budget);
  if (parts.length > MAX_PARTS) throw new RangeError(`the report needs ${parts.length} notes, more than ${MAX_PARTS}`);
  const finished = parts.map((text, index) => decorate(index + 1, parts.length, text));
  for (const [index, part] of finished.entries()) {
    if (part.length > limit) throw new Error(`internal: note part ${index + 1} is ${part.length} characters, over its ${limit} budget`);
  }
  return finished;
}

function partHeader(part: number, total: number, options: SplitOptions): string {
  const title = options.title ?? "gitops-ci report";
  const link = options.fullReportUrl ? `[the full report](${options.fullReportUrl})` : "the full report in the report job's artifacts";
  const previous = part > 1 ? `, continued from part ${part - 1}` : "";
  return `> **${title}, part ${part} of ${total}**${previous} · too long for one note; see also ${link}\n\n`;
}

function partFooter(part: number, total: number): string {
  return part < total ? `\n> Continued in part ${part + 1} of ${total}.\n` : "";
}

// Sections: top-level `<details>` blocks, and each line between them.

interface Unit {
  text: string;
}

/** Splits the body into top-level units; a `<details>` block is one unit, with all it nests. */
export function sectionsOf(body: string): Unit[] {
  const units: Unit[] = [];
  const tracker = new BlockTracker();
  let current = "";
  for (const line of linesOf(body)) {
    tracker.advance(line);
    current += line;
    // A unit ends wherever a line leaves us back at the top level, outside any block or fence.
    if (tracker.atTopLevel) {
      units.push({ text: current });
      current = "";
    }
  }
  if (current) units.push({ text: current });
  return units;
}

function packUnits(units: readonly Unit[], budget: number): string[] {
  const parts: string[] = [];
  let current = "";
  for (const unit of units) {
    if (current.length + unit.text.length <= budget) {
      current += unit.text;
      continue;
    }
    if (unit.text.length <= budget) {
      parts.push(current);
      current = unit.text;
      continue;
    }
    // Too long for a note of its own: it starts a part and is broken between lines.
    if (current) parts.push(current);
    const chunks = splitBetweenLines(unit.text, budget);
    parts.push(...chunks.slice(0, -1));
    current = chunks.at(-1) ?? "";
  }
  if (current) parts.push(current);
  return parts.filter((part) => part !== "");
}

/** Breaks one oversized section into chunks of at most `budget`, closing and reopening what is open. */
function splitBetweenLines(text: string, budget: number): string[] {
  const chunks: string[] = [];
  const tracker = new BlockTracker();
  let chunk = "";
  const breakHere = () => {
    chunks.push(chunk + tracker.closers());
    chunk = tracker.reopeners();
  };
  for (const line of linesOf(text)) {
    const after = tracker.clone();
    after.advance(line);
    if (chunk.length + line.length + after.closers().length <= budget) {
      chunk += line;
      tracker.advance(line);
      continue;
    }
    if (chunk.length > tracker.reopeners().length) breakHere();
    if (chunk.length + line.length + after.closers().length <= budget) {
      chunk += line;
      tracker.advance(line);
      continue;
    }
    // A single line longer than a note: cut it, and say so at each cut.
    const notice = "\n… (this line continues in the next part)\n";
    let rest = line;
    while (chunk.length + rest.length + after.closers().length > budget) {
      const room = budget - chunk.length - notice.length - tracker.closers().length;
      if (room <= 0) throw new RangeError(`a note limit this small cannot hold a part of the report`);
      const cut = safeCut(rest, room);
      chunk += rest.slice(0, cut) + notice;
      rest = rest.slice(cut);
      breakHere();
    }
    chunk += rest;
    tracker.advance(line);
  }
  if (chunk) chunks.push(chunk);
  return chunks;
}

/** Never cuts a surrogate pair in half. */
function safeCut(text: string, room: number): number {
  const code = text.charCodeAt(room - 1);
  return code >= 0xd800 && code <= 0xdbff && room > 1 ? room - 1 : room;
}

function linesOf(text: string): string[] {
  return text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

// What is open at a point in the Markdown: nested `<details>` (with their summaries) and a code fence.

interface OpenDetails {
  kind: "details";
  openLine: string;
  summary?: string;
}

interface OpenFence {
  kind: "fence";
  openLine: string;
  char: string;
  length: number;
}

const FENCE = /^ {0,3}(`{3,}|~{3,})(.*)$/;
const DETAILS_OPEN = /<details(?:\s[^>]*)?>/gi;
const DETAILS_CLOSE = /<\/details\s*>/gi;
const SUMMARY = /<summary>(.*?)<\/summary>/i;

class BlockTracker {
  stack: (OpenDetails | OpenFence)[] = [];

  get atTopLevel(): boolean {
    return this.stack.length === 0;
  }

  clone(): BlockTracker {
    const copy = new BlockTracker();
    copy.stack = this.stack.map((entry) => ({ ...entry }));
    return copy;
  }

  advance(rawLine: string): void {
    const line = rawLine.replace(/\n$/, "");
    const top = this.stack.at(-1);
    if (top?.kind === "fence") {
      const close = FENCE.exec(line);
      if (close && close[1]![0] === top.char && close[1]!.length >= top.length && close[2]!.trim() === "") this.stack.pop();
      return;
    }
    const fence = FENCE.exec(line);
    if (fence && !(fence[1]![0] === "`" && fence[2]!.includes("`"))) {
      this.stack.push({ kind: "fence", openLine: line, char: fence[1]![0]!, length: fence[1]!.length });
      return;
    }
    if (top?.kind === "details" && top.summary === undefined) {
      const summary = SUMMARY.exec(line);
      if (summary) top.summary = summary[1]!;
    }
    const opens = line.match(DETAILS_OPEN)?.length ?? 0;
    const closes = line.match(DETAILS_CLOSE)?.length ?? 0;
    for (let i = 0; i < opens - closes; i += 1) {
      const entry: OpenDetails = { kind: "details", openLine: line.match(DETAILS_OPEN)![0] };
      const summary = SUMMARY.exec(line);
      if (summary) entry.summary = summary[1]!;
      this.stack.push(entry);
    }
    for (let i = 0; i < closes - opens; i += 1) {
      if (this.stack.at(-1)?.kind === "details") this.stack.pop();
    }
  }

  /** What ends every open block, innermost first. */
  closers(): string {
    return [...this.stack]
      .reverse()
      .map((entry) => (entry.kind === "fence" ? `${entry.char.repeat(entry.length)}\n` : "\n</details>\n"))
      .join("");
  }

  /** What reopens them at the start of the next part, outermost first. */
  reopeners(): string {
    return this.stack
      .map((entry) => {
        if (entry.kind === "fence") return `${entry.openLine}\n`;
        const summary = entry.summary !== undefined ? `<summary>${entry.summary} (continued)</summary>` : "<summary>(continued)</summary>";
        return `${entry.openLine}\n${summary}\n\n`;
      })
      .join("");
  }
}
