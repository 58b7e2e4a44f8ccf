// A local HTTP server that answers the part of GitLab's REST API v4 drift uses, as GitLab does:
// project issues (list with offset pagination headers and Link, create, edit with state_event) and
// issue notes; PRIVATE-TOKEN authentication; GitLab's status codes and `{"message": …}` errors.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { onTestFinished } from "vitest";

export interface FakeIssue {
  id: number;
  iid: number;
  project_id: number;
  title: string;
  description: string;
  state: "opened" | "closed";
  labels: string[];
  created_at: string;
  updated_at: string;
  closed_at: string | null;
  web_url: string;
  notes: { id: number; body: string; created_at: string }[];
}

export interface GitLabDriftServer {
  url: string;
  token: string;
  projectId: number;
  issues: FakeIssue[];
  /** Every request, as "METHOD path?query". */
  requests: string[];
  /** Adds an issue as if someone had created it earlier. */
  seed(issue: Partial<FakeIssue> & { title: string }): FakeIssue;
}

export async function startGitLabDriftServer(options: { token?: string; projectId?: number } = {}): Promise<GitLabDriftServer> {
  const token = options.token ?? "glpat-test-token";
  const projectId = options.projectId ?? 42;
  const issues: FakeIssue[] = [];
  const requests: string[] = [];
  let clock = Date.parse("2026-01-01T00:00:00Z");
  let ids = 1000;
  const now = () => new Date((clock += 1000)).toISOString();
  let baseUrl = "";

  const newIssue = (fields: Partial<FakeIssue> & { title: string }): FakeIssue => {
    const iid = (issues.at(-1)?.iid ?? 0) + 1;
    const created = now();
    const issue: FakeIssue = {
      id: ++ids,
      iid,
      project_id: projectId,
      description: "",
      state: "opened",
      labels: [],
      created_at: created,
      updated_at: created,
      closed_at: null,
      web_url: `${baseUrl}/group/project/-/issues/${iid}`,
      notes: [],
      ...fields,
    };
    issues.push(issue);
    return issue;
  };

  const server = http.createServer((request, response) => {
    let body = "";
    request.setEncoding("utf8");
    request.on("data", (chunk: string) => (body += chunk));
    request.on("end", () => {
      const url = new URL(request.url ?? "/", "http://localhost");
      requests.push(`${request.method} ${url.pathname}${url.search}`);
      const send = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
        response.writeHead(status, { "Content-Type": "application/json", ...headers });
        response.end(JSON.stringify(payload));
      };
      if (request.headers["private-token"] !== token) return send(401, { message: "401 Unauthorized" });
      const params: Record<string, unknown> = body ? parseBody(body, String(request.headers["content-type"] ?? "")) : {};
      const match = /^\/api\/v4\/projects\/([^/]+)\/issues(?:\/(\d+)(\/notes)?)?$/.exec(url.pathname);
      if (!match || decodeURIComponent(match[1]!) !== String(projectId)) return send(404, { message: "404 Project Not Found" });
      const iid = match[2] ? Number(match[2]) : undefined;
      const issue = iid === undefined ? undefined : issues.find((candidate) => candidate.iid === iid);
      if (iid !== undefined && !issue) return send(404, { message: "404 Issue Not Found" });

      if (request.method === "GET" && iid === undefined) {
        const labels = (url.searchParams.get("labels") ?? "").split(",").filter(Boolean);
        const state = url.searchParams.get("state") ?? "all";
        const perPage = Math.min(100, Number(url.searchParams.get("per_page") ?? 20));
        const page = Math.max(1, Number(url.searchParams.get("page") ?? 1));
        const selected = issues
          .filter((candidate) => labels.every((label) => candidate.labels.includes(label)))
          .filter((candidate) => state === "all" || candidate.state === state)
          .sort((a, b) => (url.searchParams.get("sort") === "asc" ? 1 : -1) * (a.updated_at.localeCompare(b.updated_at) || a.iid - b.iid));
        const totalPages = Math.max(1, Math.ceil(selected.length / perPage));
        const link = (target: number, rel: string) => {
          const next = new URL(url.toString());
          next.searchParams.set("page", String(target));
          return `<${baseUrl}${next.pathname}${next.search}>; rel="${rel}"`;
        };
        const links = [...(page > 1 ? [link(page - 1, "prev")] : []), ...(page < totalPages ? [link(page + 1, "next")] : []), link(1, "first"), link(totalPages, "last")];
        return send(200, selected.slice((page - 1) * perPage, page * perPage).map(withoutNotes), {
          "X-Total": String(selected.length),
          "X-Total-Pages": String(totalPages),
          "X-Per-Page": String(perPage),
          "X-Page": String(page),
          "X-Next-Page": page < totalPages ? String(page + 1) : "",
          "X-Prev-Page": page > 1 ? String(page - 1) : "",
          Link: links.join(", "),
        });
      }
      if (request.method === "POST" && iid === undefined) {
        if (typeof params["title"] !== "string" || params["title"] === "") return send(400, { message: "title is missing" });
        const created = newIssue({
          title: params["title"],
          description: typeof params["description"] === "string" ? params["description"] : "",
          labels: typeof params["labels"] === "string" ? params["labels"].split(",").filter(Boolean) : [],
        });
        return send(201, withoutNotes(created));
      }
      if (request.method === "PUT" && issue && !match[3]) {
        if (typeof params["title"] === "string") issue.title = params["title"];
        if (typeof params["description"] === "string") issue.description = params["description"];
        if (params["state_event"] === "close") {
          issue.state = "closed";
          issue.closed_at = now();
        } else if (params["state_event"] === "reopen") {
          issue.state = "opened";
          issue.closed_at = null;
        } else if (params["state_event"] !== undefined) return send(400, { message: "state_event does not have a valid value" });
        issue.updated_at = now();
        return send(200, withoutNotes(issue));
      }
      if (request.method === "POST" && issue && match[3]) {
        if (typeof params["body"] !== "string" || params["body"] === "") return send(400, { message: "400 Bad request - body is missing" });
        const note = { id: ++ids, body: params["body"], created_at: now() };
        issue.notes.push(note);
        issue.updated_at = note.created_at;
        return send(201, { ...note, noteable_iid: issue.iid, noteable_type: "Issue", system: false });
      }
      return send(405, { message: "405 Method Not Allowed" });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: baseUrl, token, projectId, issues, requests, seed: newIssue };
}

function withoutNotes(issue: FakeIssue): Omit<FakeIssue, "notes"> {
  const { notes: _notes, ...rest } = issue;
  return rest;
}

function parseBody(body: string, contentType: string): Record<string, unknown> {
  if (contentType.includes("json")) return JSON.parse(body) as Record<string, unknown>;
  return Object.fromEntries(new URLSearchParams(body));
}
