// The GitLab API as every task uses it (report, promote, drift, pipeline --collect-children):
// gitbeaker's resources over one request handler (request-handler.ts) that owns the retry policy
// and turns every failure into a GitLabApiError a person can act on. Merge requests and their
// notes are here; issues and pipeline jobs in sibling modules over the same handler.
import { MergeRequestNotes, MergeRequests, Users } from "@gitbeaker/rest";
import { createIssuesApi, type IssuesApi } from "./issues-api.ts";
import { createPipelineJobsApi, type PipelineJobsApi } from "./pipeline-jobs-api.ts";
import { gitbeakerSettings, type GitLabClientOptions } from "./request-handler.ts";
import { scalarText } from "../yaml-file.ts";

export interface NoteTarget {
  projectId: string | number;
  mergeRequestIid: number;
}

/** The fields of a GitLab note (docs/api/notes.md) the report relies on. */
export interface GitLabNote {
  id: number;
  body: string;
  system: boolean;
  created_at: string;
  updated_at?: string;
  author?: { id: number; username: string };
}

export interface GitLabMergeRequest {
  iid: number;
  title: string;
  state: string;
  web_url: string;
}

/** What the merge request note needs from GitLab; tests may implement it without a server. */
export interface MergeRequestNotesApi {
  /** The token's own user (GET /user): the author of the notes that are ours. */
  currentUser(): Promise<{ id: number; username: string }>;
  /** Every note, oldest first, across all pages. */
  listNotes(target: NoteTarget): Promise<GitLabNote[]>;
  createNote(target: NoteTarget, body: string): Promise<GitLabNote>;
  editNote(target: NoteTarget, noteId: number, body: string): Promise<GitLabNote>;
  deleteNote(target: NoteTarget, noteId: number): Promise<void>;
}

export interface GitLabClient extends MergeRequestNotesApi, MergeRequestsApi, IssuesApi, PipelineJobsApi {
  showMergeRequest(target: NoteTarget): Promise<GitLabMergeRequest>;
}

/** A merge request as `promote` keeps it: found by its source branch, its description rewritten. */
export interface GitLabMergeRequestDetails extends GitLabMergeRequest {
  description: string;
  source_branch: string;
  target_branch: string;
}

export interface MergeRequestFields {
  sourceBranch: string;
  targetBranch: string;
  title: string;
  description: string;
}

/** What `promote` needs from GitLab's merge requests API (docs/api/merge_requests.md). */
export interface MergeRequestsApi {
  /** Open merge requests from this source branch (into this target branch, when given), oldest first, across all pages. */
  listOpenMergeRequests(projectId: string | number, sourceBranch: string, targetBranch?: string): Promise<GitLabMergeRequestDetails[]>;
  createMergeRequest(projectId: string | number, fields: MergeRequestFields): Promise<GitLabMergeRequestDetails>;
  updateMergeRequest(
    projectId: string | number,
    iid: number,
    fields: Partial<Pick<MergeRequestFields, "title" | "description">>,
  ): Promise<GitLabMergeRequestDetails>;
}

/** GitLab pages lists by at most this many items. */
const PER_PAGE = 100;

/** Opens a client from the options a task built (URL, token, redaction, proxy); the task context carries one. */
export type GitLabClientFactory = (options: GitLabClientOptions) => GitLabClient;

export function createGitLabClient(options: GitLabClientOptions): GitLabClient {
  const settings = gitbeakerSettings(options);
  const notes = new MergeRequestNotes(settings);
  const mergeRequests = new MergeRequests(settings);
  const users = new Users(settings);

  return {
    ...createIssuesApi(settings),
    ...createPipelineJobsApi(settings),
    async currentUser() {
      const user = (await users.showCurrentUser()) as unknown as Record<string, unknown>;
      return { id: Number(user["id"]), username: scalarText(user["username"]) };
    },
    async listNotes(target) {
      // No `page`: gitbeaker then follows the Link header's rel="next" to the last page.
      const all = await notes.all(target.projectId, target.mergeRequestIid, { sort: "asc", orderBy: "created_at", perPage: PER_PAGE });
      return all.map(toNote);
    },
    async createNote(target, body) {
      return toNote(await notes.create(target.projectId, target.mergeRequestIid, body));
    },
    async editNote(target, noteId, body) {
      return toNote(await notes.edit(target.projectId, target.mergeRequestIid, noteId, { body }));
    },
    async deleteNote(target, noteId) {
      await notes.remove(target.projectId, target.mergeRequestIid, noteId);
    },
    async showMergeRequest(target) {
      const mergeRequest = (await mergeRequests.show(target.projectId, target.mergeRequestIid)) as unknown as Record<string, unknown>;
      return {
        iid: Number(mergeRequest["iid"]),
        title: scalarText(mergeRequest["title"]),
        state: scalarText(mergeRequest["state"]),
        web_url: scalarText(mergeRequest["web_url"]),
      };
    },
    async listOpenMergeRequests(projectId, sourceBranch, targetBranch) {
      const all = await mergeRequests.all({
        projectId,
        sourceBranch,
        state: "opened",
        orderBy: "created_at",
        sort: "asc",
        perPage: PER_PAGE,
        ...(targetBranch ? { targetBranch } : {}),
      });
      return all.map(toMergeRequestDetails);
    },
    async createMergeRequest(projectId, fields) {
      return toMergeRequestDetails(
        await mergeRequests.create(projectId, fields.sourceBranch, fields.targetBranch, fields.title, {
          description: fields.description,
          removeSourceBranch: true,
        }),
      );
    },
    async updateMergeRequest(projectId, iid, fields) {
      return toMergeRequestDetails(await mergeRequests.edit(projectId, iid, fields));
    },
  };
}

function toMergeRequestDetails(raw: unknown): GitLabMergeRequestDetails {
  const mergeRequest = raw as Record<string, unknown>;
  return {
    iid: Number(mergeRequest["iid"]),
    title: scalarText(mergeRequest["title"]),
    state: scalarText(mergeRequest["state"]),
    web_url: scalarText(mergeRequest["web_url"]),
    description: typeof mergeRequest["description"] === "string" ? mergeRequest["description"] : "",
    source_branch: scalarText(mergeRequest["source_branch"]),
    target_branch: scalarText(mergeRequest["target_branch"]),
  };
}

function toNote(raw: unknown): GitLabNote {
  const note = raw as Record<string, unknown>;
  const author = note["author"] as Record<string, unknown> | undefined;
  return {
    id: Number(note["id"]),
    body: typeof note["body"] === "string" ? note["body"] : "",
    system: note["system"] === true,
    created_at: scalarText(note["created_at"]),
    ...(typeof note["updated_at"] === "string" ? { updated_at: note["updated_at"] } : {}),
    ...(author ? { author: { id: Number(author["id"]), username: scalarText(author["username"]) } } : {}),
  };
}
