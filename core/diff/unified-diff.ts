// A line-based unified diff (Myers' O(ND) algorithm), the format reviewers know from `git diff`.
// Objects are small and mostly equal, so D stays small and the trace cheap.

type Edit = { kind: "keep" | "remove" | "add"; line: string; oldIndex: number; newIndex: number };

export interface UnifiedDiffOptions {
  /** Lines of context around each change (default 3). */
  context?: number;
  oldLabel?: string;
  newLabel?: string;
}

/** "" when the texts are equal. */
export function unifiedDiff(oldText: string, newText: string, options: UnifiedDiffOptions = {}): string {
  if (oldText === newText) return "";
  const oldLines = splitLines(oldText);
  const newLines = splitLines(newText);
  const edits = diffLines(oldLines, newLines);
  const context = options.context ?? 3;
  const hunks: string[] = [];
  let index = 0;
  while (index < edits.length) {
    // Find the next change, then extend the hunk while changes are within 2 × context of each other.
    while (index < edits.length && edits[index]!.kind === "keep") index += 1;
    if (index >= edits.length) break;
    const start = Math.max(0, index - context);
    let end = index;
    let lastChange = index;
    while (end < edits.length) {
      if (edits[end]!.kind !== "keep") lastChange = end;
      else if (end - lastChange > 2 * context) break;
      end += 1;
    }
    const stop = Math.min(edits.length, lastChange + context + 1);
    const slice = edits.slice(start, stop);
    const oldStart = firstIndex(slice, "old") ;
    const newStart = firstIndex(slice, "new");
    const oldCount = slice.filter((edit) => edit.kind !== "add").length;
    const newCount = slice.filter((edit) => edit.kind !== "remove").length;
    hunks.push(`@@ -${range(oldStart, oldCount)} +${range(newStart, newCount)} @@`);
    for (const edit of slice) hunks.push(`${edit.kind === "keep" ? " " : edit.kind === "remove" ? "-" : "+"}${edit.line}`);
    index = stop;
  }
  return [`--- ${options.oldLabel ?? "a"}`, `+++ ${options.newLabel ?? "b"}`, ...hunks].join("\n");
}

function firstIndex(slice: readonly Edit[], side: "old" | "new"): number {
  // Line numbers are 1-based; an empty side starts "after" the line before it.
  const edit = slice.find((candidate) => (side === "old" ? candidate.kind !== "add" : candidate.kind !== "remove"));
  if (edit) return (side === "old" ? edit.oldIndex : edit.newIndex) + 1;
  const first = slice[0]!;
  return side === "old" ? first.oldIndex : first.newIndex;
}

function range(start: number, count: number): string {
  return count === 1 ? String(start) : `${start},${count}`;
}

function splitLines(text: string): string[] {
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  return lines;
}

/** Myers' shortest edit script, as keep/remove/add edits in order. */
export function diffLines(a: readonly string[], b: readonly string[]): Edit[] {
  const n = a.length;
  const m = b.length;
  const max = n + m;
  const offset = max + 1;
  const v = new Int32Array(2 * max + 3);
  const trace: Int32Array[] = [];
  let found = false;
  for (let d = 0; d <= max && !found; d += 1) {
    trace.push(v.slice());
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && v[offset + k - 1]! < v[offset + k + 1]!) ? v[offset + k + 1]! : v[offset + k - 1]! + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x += 1;
        y += 1;
      }
      v[offset + k] = x;
      if (x >= n && y >= m) {
        found = true;
        break;
      }
    }
  }
  // Walk the trace back from the end to recover the path.
  const edits: Edit[] = [];
  let x = n;
  let y = m;
  for (let d = trace.length - 1; d >= 0; d -= 1) {
    const vd = trace[d]!;
    const k = x - y;
    const prevK = k === -d || (k !== d && vd[offset + k - 1]! < vd[offset + k + 1]!) ? k + 1 : k - 1;
    const prevX = d === 0 ? 0 : vd[offset + prevK]!;
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) {
      x -= 1;
      y -= 1;
      edits.push({ kind: "keep", line: a[x]!, oldIndex: x, newIndex: y });
    }
    if (d === 0) break;
    if (x === prevX) {
      y -= 1;
      edits.push({ kind: "add", line: b[y]!, oldIndex: x, newIndex: y });
    } else {
      x -= 1;
      edits.push({ kind: "remove", line: a[x]!, oldIndex: x, newIndex: y });
    }
  }
  while (x > 0 && y > 0) {
    x -= 1;
    y -= 1;
    edits.push({ kind: "keep", line: a[x]!, oldIndex: x, newIndex: y });
  }
  return edits.reverse();
}
