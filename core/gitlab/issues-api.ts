// GitLab's project issues and issue notes (docs/api/issues.md, docs/api/notes.md) as `drift` uses
// them, over the client's request handler: the same retries, errors and redaction as every call.
import { IssueNotes, Issues } from "@gitbeaker/rest";
import type { GitbeakerSettings } from "./request-handler.ts";
import { scalarText } from "../yaml-file.ts";

/** The fields of a GitLab issue the tasks rely on. */
export interface GitLabIssue {
  iid: number;
  state: "opened" | "closed";
  title: string;
  /** GitLab sends null for an issue created without one; read as "". */
  description: string;
  labels: string[];
  web_url: string;
  updated_at: string;
}

export interface IssueQuery {
  /** Issues that carry every one of these labels. */
  labels?: readonly string[];
  /**
   * GitLab's search in titles and descriptions. It is a full-text search of words, not a substring
   * match, so it narrows a list but cannot find a hidden marker by itself.
   */
  search?: string;
  /** Default: both open and closed issues. */
  state?: "opened" | "closed" | "all";
}

export interface IssueFields {
  title: string;
  description: string;
  labels?: readonly string[];
}

export interface IssueChange {
  title?: string;
  description?: string;
  stateEvent?: "close" | "reopen";
}

export interface IssuesApi {
  /** Every matching issue of the project, most recently updated first, across all pages. */
  listIssues(projectId: string | number, query: IssueQuery): Promise<GitLabIssue[]>;
  createIssue(projectId: string | number, fields: IssueFields): Promise<GitLabIssue>;
  editIssue(projectId: string | number, iid: number, change: IssueChange): Promise<GitLabIssue>;
  createIssueNote(projectId: string | number, iid: number, body: string): Promise<{ id: number; body: string }>;
}

/** GitLab pages lists by at most this many items. */
const PER_PAGE = 100;

export function createIssuesApi(settings: GitbeakerSettings): IssuesApi {
  const issues = new Issues(settings);
  const notes = new IssueNotes(settings);
  return {
    async listIssues(projectId, query) {
      // No `page`: gitbeaker then follows the Link header's rel="next" to the last page.
      const all = await issues.all({
        projectId,
        state: query.state ?? "all",
        ...(query.labels?.length ? { labels: query.labels.join(",") } : {}),
        ...(query.search ? { search: query.search } : {}),
        orderBy: "updated_at",
        sort: "desc",
        perPage: PER_PAGE,
      });
      return (all as unknown[]).map(toIssue);
    },
    async createIssue(projectId, fields) {
      return toIssue(
        await issues.create(projectId, fields.title, {
          description: fields.description,
          ...(fields.labels?.length ? { labels: fields.labels.join(",") } : {}),
        }),
      );
    },
    async editIssue(projectId, iid, change) {
      return toIssue(await issues.edit(projectId, iid, change));
    },
    async createIssueNote(projectId, iid, body) {
      const note = (await notes.create(projectId, iid, body)) as unknown as Record<string, unknown>;
      return { id: Number(note["id"]), body: typeof note["body"] === "string" ? note["body"] : "" };
    },
  };
}

function toIssue(raw: unknown): GitLabIssue {
  const issue = raw as Record<string, unknown>;
  return {
    iid: Number(issue["iid"]),
    state: issue["state"] === "closed" ? "closed" : "opened",
    title: scalarText(issue["title"]),
    description: typeof issue["description"] === "string" ? issue["description"] : "",
    labels: Array.isArray(issue["labels"]) ? issue["labels"].map(String) : [],
    web_url: scalarText(issue["web_url"]),
    updated_at: scalarText(issue["updated_at"]),
  };
}
