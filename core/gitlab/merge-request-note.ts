// One report on a merge request, however often the job runs: our notes are found by a hidden
// marker on their first line, updated in place, completed, and cleaned of duplicates and stale
// parts, as danger-js's `updateOrCreateComment` does for its single comment.
//
// A note is ours only if the token's own user (GET /user) wrote it: anyone who can comment can
// post a note with the marker, and a forged "later run" must not silence every report after it;
// a note an earlier token's user wrote cannot be edited (GitLab answers 403) and is left alone.
//
// GitLab has no conditional write for notes, so two report jobs that run at once (a retried job
// beside the original, two pipelines of one merge request) can both find no note and both create
// one. Each run therefore ends with a verification: it lists the notes again and, while the set is
// not exactly one note per part, reconciles once more, keeping one note of each part (the latest
// run's, the oldest of those) and deleting the other duplicates (a 404 on delete means the other job was first; that is fine).
// Runs are ordered by (pipeline id, job id): a run that finds notes of a later run deletes the
// notes it created itself, stops, and leaves the later ones, so an old pipeline's slow or retried report job never overwrites a newer one's results and
// the two jobs cannot take turns rewriting the note. A `resource_group` on the report job
// serialises the jobs in the first place; this is what keeps the note right when it is not set.
import { UserError } from "../errors.ts";
import type { GitLabNote, MergeRequestNotesApi, NoteTarget } from "./client.ts";
import { GitLabApiError } from "./request-handler.ts";
import { GITLAB_NOTE_LIMIT } from "./note-splitting.ts";
import { plural } from "../report/markdown-text.ts";
import { escapeRegExp } from "../redaction.ts";

/** Which job wrote a note; later (pipeline, job) pairs win. */
export interface ReportRun {
  pipelineId?: number;
  jobId?: number;
}

export interface UpsertReportNotesOptions extends NoteTarget {
  /** The report's key: the marker is `<!-- gitops-ci:report:<key> part N/M -->`. */
  marker: string;
  /** The parts, in order, each within the note limit minus room for the marker lines. */
  bodies: readonly string[];
  run?: ReportRun;
  /** Reconcile-and-verify rounds before giving up on a note that keeps changing under us. */
  maxRounds?: number;
  log?: (text: string) => void;
}

export type NoteAction = "created" | "updated" | "unchanged";

export interface UpsertReportNotesResult {
  /** `superseded`: a later run's notes were found and left as they are. */
  outcome: "posted" | "superseded";
  notes: { part: number; id: number; action: NoteAction }[];
  deleted: number[];
  rounds: number;
  supersededBy?: ReportRun;
  /** The token's user, whose notes are ours. */
  author: NoteAuthor;
}

export interface NoteAuthor {
  id: number;
  username: string;
}

/** A note of ours, as found on the merge request. */
export interface ReportNote {
  id: number;
  part: number;
  total: number;
  run: ReportRun;
  body: string;
}

const KEY = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function markerLine(key: string, part: number, total: number): string {
  return `<!-- gitops-ci:report:${key} part ${part}/${total} -->`;
}

/** The note exactly as it is sent: marker, run, then the part's Markdown. */
export function composeNoteBody(key: string, part: number, total: number, body: string, run: ReportRun = {}): string {
  const runLine =
    run.pipelineId !== undefined
      ? `<!-- gitops-ci:run pipeline=${run.pipelineId}${run.jobId !== undefined ? ` job=${run.jobId}` : ""} -->\n`
      : "";
  return `${markerLine(key, part, total)}\n${runLine}${body}`;
}

/**
 * Our notes among all of a merge request's: by the marker on their first line, and, given
 * `authorId`, only those that user wrote; system notes never.
 */
export function findReportNotes(notes: readonly GitLabNote[], key: string, authorId?: number): ReportNote[] {
  const pattern = new RegExp(
    `^<!-- gitops-ci:report:${escapeRegExp(key)} part (\\d+)/(\\d+) -->\\r?\\n(?:<!-- gitops-ci:run pipeline=(\\d+)(?: job=(\\d+))? -->)?`,
  );
  const found: ReportNote[] = [];
  for (const note of notes) {
    if (note.system) continue;
    if (authorId !== undefined && note.author?.id !== authorId) continue;
    const match = pattern.exec(note.body);
    if (!match) continue;
    const run: ReportRun = {};
    if (match[3]) run.pipelineId = Number(match[3]);
    if (match[4]) run.jobId = Number(match[4]);
    found.push({ id: note.id, part: Number(match[1]), total: Number(match[2]), run, body: note.body });
  }
  return found.sort((a, b) => a.id - b.id);
}

/** Orders runs: negative when `a` is earlier. A run without ids is the earliest. */
export function compareRuns(a: ReportRun, b: ReportRun): number {
  return (a.pipelineId ?? 0) - (b.pipelineId ?? 0) || (a.jobId ?? 0) - (b.jobId ?? 0);
}

export async function upsertReportNotes(api: MergeRequestNotesApi, options: UpsertReportNotesOptions): Promise<UpsertReportNotesResult> {
  if (!KEY.test(options.marker)) throw new UserError(`report marker key "${options.marker}" must be letters, digits, ".", "_" or "-"`);
  if (options.bodies.length === 0) throw new Error("internal: a report needs at least one note");
  const target: NoteTarget = { projectId: options.projectId, mergeRequestIid: options.mergeRequestIid };
  const run = options.run ?? {};
  const total = options.bodies.length;
  const desired = options.bodies.map((body, index) => composeNoteBody(options.marker, index + 1, total, body, run));
  for (const [index, body] of desired.entries()) {
    // Counted in UTF-16 code units, never fewer than the characters GitLab counts.
    if (body.length > GITLAB_NOTE_LIMIT) {
      throw new Error(
        `internal: report part ${index + 1} is ${body.length} characters, over GitLab's ${GITLAB_NOTE_LIMIT}; it must be split, not sent`,
      );
    }
  }
  const log = options.log ?? (() => {});
  const maxRounds = options.maxRounds ?? 4;
  const actions = new Map<number, { id: number; action: NoteAction }>();
  const deleted: number[] = [];
  // Notes this run created: a run that turns out to be superseded takes them back.
  const created = new Set<number>();
  const author = await api.currentUser();

  const warned = new Set<number>();
  const list = async () => {
    const notes = await api.listNotes(target);
    for (const note of notes) {
      if (note.author?.id === author.id || warned.has(note.id) || findReportNotes([note], options.marker).length === 0) continue;
      warned.add(note.id);
      log(
        `note ${note.id}${note.author ? ` by @${note.author.username}` : ""} carries this report's marker, but this token's user is @${author.username}: not ours, left as it is`,
      );
    }
    return findReportNotes(notes, options.marker, author.id);
  };

  let ours = await list();
  for (let round = 1; round <= maxRounds; round += 1) {
    const later = ours.filter((note) => compareRuns(note.run, run) > 0).sort((a, b) => compareRuns(b.run, a.run))[0];
    if (later) {
      log(
        `a later run (pipeline ${later.run.pipelineId ?? "?"}, job ${later.run.jobId ?? "?"}) already reported on this merge request; its notes are left as they are`,
      );
      // Only those still in our words: the later run may have adopted one (it keeps the oldest
      // note of each part), and that one is its note now.
      const own = ours.filter((note) => created.has(note.id) && compareRuns(note.run, run) === 0);
      for (const note of own) {
        await deleteIfPresent(api, target, note.id);
        deleted.push(note.id);
      }
      if (own.length > 0) log(`deleted the ${plural(own.length, "note")} this run had created`);
      const left = [...actions].filter(([, entry]) => !created.has(entry.id)).map(([part, entry]) => ({ part, ...entry }));
      return { outcome: "superseded", notes: left, deleted, rounds: round, supersededBy: later.run, author };
    }

    // Parts in order, so that notes created now appear in reading order.
    const kept = new Set<number>();
    for (let part = 1; part <= total; part += 1) {
      const body = desired[part - 1]!;
      // Of duplicates, the latest run's note, then the oldest: every job picks the same one from the
      // same list, and a superseded job deleting the note it created never takes the kept one.
      const existing = ours.filter((note) => note.part === part).sort((a, b) => compareRuns(b.run, a.run) || a.id - b.id)[0];
      if (existing) kept.add(existing.id);
      if (existing && existing.body === body) {
        if (!actions.has(part)) actions.set(part, { id: existing.id, action: "unchanged" });
        continue;
      }
      if (existing) {
        const edited = await editOrRecreate(api, target, existing.id, body);
        kept.add(edited.id);
        if (edited.id !== existing.id) created.add(edited.id);
        actions.set(part, { id: edited.id, action: edited.id === existing.id ? "updated" : "created" });
      } else {
        const note = await api.createNote(target, body);
        kept.add(note.id);
        created.add(note.id);
        actions.set(part, { id: note.id, action: "created" });
      }
    }
    // Duplicates (the newer notes of a part), and parts beyond the current count.
    for (const note of ours) {
      if (kept.has(note.id)) continue;
      await deleteIfPresent(api, target, note.id);
      deleted.push(note.id);
    }

    ours = await list();
    if (isExactly(ours, desired)) {
      for (const [part, entry] of actions) {
        const note = ours.find((candidate) => candidate.part === part);
        if (note) actions.set(part, { ...entry, id: note.id });
      }
      return {
        outcome: "posted",
        notes: [...actions].map(([part, entry]) => ({ part, ...entry })).sort((a, b) => a.part - b.part),
        deleted,
        rounds: round,
        author,
      };
    }
    log(`the report notes changed while they were written (another report job?); reconciling again (round ${round + 1})`);
  }
  throw new UserError(
    `the report notes on merge request !${options.mergeRequestIid} kept changing under this job for ${maxRounds} rounds`,
    {
      hint: "another job writes the same report at the same time; give the report job a resource_group (e.g. resource_group: gitops-ci-report-$CI_MERGE_REQUEST_IID) and re-run it",
    },
  );
}

/** One note per part, in our words, and nothing else. */
function isExactly(ours: readonly ReportNote[], desired: readonly string[]): boolean {
  if (ours.length !== desired.length) return false;
  return desired.every((body, index) => {
    const notes = ours.filter((note) => note.part === index + 1);
    return notes.length === 1 && notes[0]!.body === body;
  });
}

/** A note the other job deleted between our list and our edit is created again. */
async function editOrRecreate(api: MergeRequestNotesApi, target: NoteTarget, id: number, body: string): Promise<GitLabNote> {
  try {
    return await api.editNote(target, id, body);
  } catch (error) {
    if (error instanceof GitLabApiError && error.status === 404) return api.createNote(target, body);
    throw error;
  }
}

async function deleteIfPresent(api: MergeRequestNotesApi, target: NoteTarget, id: number): Promise<void> {
  try {
    await api.deleteNote(target, id);
  } catch (error) {
    // Already gone: the other report job deleted the same duplicate first.
    if (error instanceof GitLabApiError && error.status === 404) return;
    throw error;
  }
}
