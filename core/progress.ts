// What a long run says while it works: a live line on a terminal's stderr, GitLab's collapsible
// job-log sections in CI, nothing otherwise. Results (stdout) never carry any of it.
import type { WritableLike } from "./output.ts";

/** How the streams a run writes to behave; the entry point (cli/) works it out from the process. */
export interface TerminalOptions {
  /** stderr is a terminal, and the live line may be drawn there. */
  live: boolean;
  /** stdout is a terminal that takes colours (not NO_COLOR). */
  color: boolean;
  /** A GitLab CI job (GITLAB_CI=true): phases become collapsible job-log sections. */
  sections: boolean;
}

export const PLAIN_TERMINAL: TerminalOptions = { live: false, color: false, sections: false };

export interface Progress {
  /** Runs one phase: a job-log section in GitLab CI (with its duration), the live line's title on a terminal. */
  phase<T>(title: string, run: () => Promise<T>): Promise<T>;
  /** `total` more of `label` to do in the current phase (counts add up: discovery learns its builds wave by wave). */
  expect(label: string, total: number): void;
  /** `count` more of `label` done. */
  advance(label: string, count?: number): void;
  /** Clears the live line, so a line of text can be written; the next update draws it again. */
  clear(): void;
}

export interface ProgressOptions extends TerminalOptions {
  stderr: WritableLike;
  /** Milliseconds; tests pass a clock. */
  now?: () => number;
  /** Least time between two redraws of the live line. */
  redrawMs?: number;
}

const CLEAR_LINE = "\r\x1b[2K";

export function createProgress(options: ProgressOptions): Progress {
  const now = options.now ?? (() => Date.now());
  const redrawMs = options.redrawMs ?? 100;
  const counters = new Map<string, { done: number; total: number }>();
  let title = "";
  let phaseStarted = 0;
  let shown = false;
  let drawnAt = -Infinity;
  let sectionCount = 0;
  let depth = 0;
  // Redraws the elapsed time while nothing else happens; never keeps the process alive.
  let ticker: ReturnType<typeof setInterval> | undefined;

  const draw = (force = false) => {
    if (!options.live || !title) return;
    const at = now();
    if (!force && at - drawnAt < redrawMs) return;
    drawnAt = at;
    const parts = [...counters].map(([label, { done, total }]) => (total > 0 ? `${label} ${done}/${total}` : `${label} ${done}`));
    const seconds = ((at - phaseStarted) / 1000).toFixed(1);
    void options.stderr.write(`${CLEAR_LINE}${title}${parts.length ? `: ${parts.join(", ")}` : ""} (${seconds}s)`);
    shown = true;
  };
  const clear = () => {
    if (!shown) return;
    void options.stderr.write(CLEAR_LINE);
    shown = false;
  };

  return {
    async phase(phaseTitle, run) {
      const outer = { title, phaseStarted, counters: new Map(counters) };
      title = phaseTitle;
      phaseStarted = now();
      counters.clear();
      const name = `gitops_ci_${++sectionCount}_${sectionName(phaseTitle)}`;
      if (options.sections) {
        clear();
        void options.stderr.write(sectionStart(name, phaseTitle, phaseStarted));
      }
      draw(true);
      if (options.live && depth++ === 0) ticker = setInterval(() => draw(true), 1000).unref();
      try {
        return await run();
      } finally {
        if (options.live && --depth === 0) clearInterval(ticker);
        clear();
        if (options.sections) {
          const ended = now();
          void options.stderr.write(`${phaseTitle}: ${describeCounters(counters)}${((ended - phaseStarted) / 1000).toFixed(1)}s\n`);
          void options.stderr.write(sectionEnd(name, ended));
        }
        title = outer.title;
        phaseStarted = outer.phaseStarted;
        counters.clear();
        for (const [label, value] of outer.counters) counters.set(label, value);
        draw(true);
        if (!title) clear();
      }
    },
    expect(label, total) {
      const counter = counters.get(label) ?? { done: 0, total: 0 };
      counter.total += total;
      counters.set(label, counter);
      draw();
    },
    advance(label, count = 1) {
      const counter = counters.get(label) ?? { done: 0, total: 0 };
      counter.done += count;
      counters.set(label, counter);
      // A finished count is always drawn: the phase may end before the next redraw is due.
      draw(counter.total > 0 && counter.done >= counter.total);
    },
    clear,
  };
}

function describeCounters(counters: ReadonlyMap<string, { done: number; total: number }>): string {
  return [...counters].map(([label, { done }]) => `${done} ${label}, `).join("");
}

/** GitLab takes letters, digits, `_`, `.` and `-` in a section name. */
export function sectionName(text: string): string {
  return (
    text
      .toLowerCase()
      .replace(/[^a-z0-9_.-]+/g, "_")
      .replace(/^_+|_+$/g, "")
      .slice(0, 60) || "section"
  );
}

/** GitLab's collapsible job-log section markers (docs.gitlab.com/ci/jobs/job_logs, custom sections). */
export function sectionStart(name: string, header: string, atMs: number, collapsed = false): string {
  return `\x1b[0Ksection_start:${Math.floor(atMs / 1000)}:${name}${collapsed ? "[collapsed=true]" : ""}\r\x1b[0K${header}\n`;
}

export function sectionEnd(name: string, atMs: number): string {
  return `\x1b[0Ksection_end:${Math.floor(atMs / 1000)}:${name}\r\x1b[0K\n`;
}

/** Colours for a terminal's summary: nothing when colour is off. */
export function paint(color: boolean) {
  const wrap = (code: string) => (text: string) => (color && text ? `\x1b[${code}m${text}\x1b[0m` : text);
  return { red: wrap("31"), yellow: wrap("33"), green: wrap("32"), dim: wrap("2"), bold: wrap("1") };
}
