// A local HTTP server that answers as GitLab's REST API v4 does for the endpoints the report job
// uses, so tests run the real gitbeaker client against documented behaviour, not a mock:
//
// - GET /user: the token's own user (docs/api/users.md, "Get the current user"; a project access
//   token's user is its bot user, `bot: true`);
// - merge request notes and issue notes: list (paginated), show, create, edit, delete
//   (docs/api/notes.md; lib/api/notes.rb, lib/api/helpers/notes_helpers.rb);
// - GET /projects/:id/merge_requests/:iid; issues: list (labels, state, search, order_by, sort;
//   paginated), show, create, edit with state_event (docs/api/issues.md); a new note touches its
//   issue's or merge request's updated_at, as Note's `belongs_to :noteable, touch: true` does;
// - pipelines (docs/api/jobs.md, docs/api/job_artifacts.md): a pipeline's jobs (latest only
//   unless include_retried; scope) and trigger jobs with downstream_pipeline, both paginated;
//   one artifact file of a job, served as Workhorse serves it (Content-Type from the extension,
//   404 {"message":"404 Artifact Not Found"} when the job has no artifacts, plain 404 when the
//   file is not among them);
// - merge requests: list (state, source_branch, target_branch, order_by, sort; paginated), create
//   (409 when an open one has the same source and target branch), edit title/description/state
//   (docs/api/merge_requests.md);
// - `:id` as a number or a URL-encoded `group/project` path (docs/api/rest: namespaced path encoding);
// - offset pagination: `page`, `per_page` (default 20, at most 100) and the X-Page, X-Per-Page,
//   X-Next-Page, X-Prev-Page, X-Total, X-Total-Pages and Link headers (docs/api/rest, Pagination);
// - authentication by `PRIVATE-TOKEN` or `Authorization: Bearer`: without a valid token
//   401 {"message":"401 Unauthorized"}; a read_api token writing gets 403 with the OAuth
//   insufficient_scope body (lib/api/api_guard.rb); editing another user's note 403 {"message":"403 Forbidden"};
// - 404 shapes: {"message":"404 Project Not Found"} for a missing or invisible project,
//   {"message":"404 Not found"} for a missing note (ActiveRecord::RecordNotFound, lib/api/api.rb),
//   {"error":"404 Not Found"} for an unknown route;
// - a note body is limited to 1,000,000 characters (docs/api/notes.md), counted as Ruby counts
//   them (code points); longer: 400 with the validation message `bad_request!` builds;
// - faults on demand: the next N requests answer 429 (Rack::Attack's "Retry later", Retry-After,
//   RateLimit-* headers), 500 (JSON) or 502/503 (HTML, as the proxies in front send them);
// - a barrier that holds requests until several have arrived, to make two jobs race for real.
// Every request is recorded for assertions.
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface FakeUser {
  id: number;
  username: string;
  name: string;
  /** A project or group access token's user. */
  bot?: boolean;
}

export interface FakeNote {
  id: number;
  body: string;
  author: FakeUser;
  created_at: string;
  updated_at: string;
  system: boolean;
  noteable_id: number;
  noteable_type: "MergeRequest" | "Issue";
  noteable_iid: number;
  project_id: number;
}

export interface FakeMergeRequest {
  id: number;
  iid: number;
  project_id: number;
  title: string;
  state: "opened" | "closed" | "merged";
  source_branch: string;
  target_branch: string;
  notes: FakeNote[];
  description?: string | null;
  created_at?: string;
  updated_at?: string;
}

export interface FakeIssue {
  id: number;
  iid: number;
  project_id: number;
  title: string;
  description: string | null;
  state: "opened" | "closed";
  labels: string[];
  created_at: string;
  updated_at: string;
  closed_at: string | null;
  notes: FakeNote[];
}

export interface FakeJob {
  id: number;
  name: string;
  stage: string;
  status: string;
  /** A later run of the same job replaced this one. */
  retried: boolean;
  /** Artifact path -> content; undefined when the job kept no artifacts. */
  artifacts?: Map<string, string>;
}

/** A trigger job (`trigger:`), which GitLab calls a bridge. */
export interface FakeBridge {
  id: number;
  name: string;
  stage: string;
  status: string;
  /** The pipeline it started; undefined when none was created. */
  downstream?: FakePipeline;
}

export interface FakePipeline {
  id: number;
  iid: number;
  project_id: number;
  status: string;
  ref: string;
  sha: string;
  source: string;
  created_at: string;
  jobs: FakeJob[];
  bridges: FakeBridge[];
}

export interface FakeProject {
  id: number;
  path_with_namespace: string;
  mergeRequests: Map<number, FakeMergeRequest>;
  issues: Map<number, FakeIssue>;
  pipelines: Map<number, FakePipeline>;
}

interface FakeToken {
  user: FakeUser;
  scopes: ("api" | "read_api")[];
  /** Projects the token's user can see; undefined: all. */
  projects?: number[];
}

export interface RecordedRequest {
  method: string;
  /** Raw path, as sent (URL-encoded segments stay encoded). */
  path: string;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  body: string;
  status?: number;
}

export interface Fault {
  status: 429 | 500 | 502 | 503;
  /** Retry-After header value: seconds or an HTTP date. */
  retryAfter?: string;
}

export interface RequestMatch {
  method?: string;
  /** Tested against the raw path. */
  path?: RegExp;
}

interface PendingFault {
  fault: Fault;
  remaining: number;
  match: RequestMatch;
}

interface Barrier {
  match: RequestMatch;
  count: number;
  waiting: (() => void)[];
}

const MAX_NOTE_LENGTH = 1_000_000;
const START = Date.parse("2025-01-06T09:00:00Z");

export class FakeGitLab {
  readonly requests: RecordedRequest[] = [];
  url = "";
  readonly #server: Server;
  readonly #projects = new Map<number, FakeProject>();
  readonly #tokens = new Map<string, FakeToken>();
  #faults: PendingFault[] = [];
  #barriers: Barrier[] = [];
  #nextId = 1000;
  #clock = 0;

  private constructor() {
    this.#server = createServer((request, response) => void this.#handle(request, response));
  }

  /** On loopback, unless `host` names another address to listen on (a proxy test's non-loopback one). */
  static async start(options: { host?: string } = {}): Promise<FakeGitLab> {
    const fake = new FakeGitLab();
    const host = options.host ?? "127.0.0.1";
    await new Promise<void>((resolve) => fake.#server.listen(0, host, resolve));
    const { port } = fake.#server.address() as AddressInfo;
    fake.url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
    return fake;
  }

  /** CI_API_V4_URL for this server. */
  get apiUrl(): string {
    return `${this.url}/api/v4`;
  }

  async close(): Promise<void> {
    for (const barrier of this.#barriers) barrier.waiting.splice(0).forEach((release) => release());
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  addProject(pathWithNamespace: string, id = this.#id()): FakeProject {
    const project: FakeProject = {
      id,
      path_with_namespace: pathWithNamespace,
      mergeRequests: new Map(),
      issues: new Map(),
      pipelines: new Map(),
    };
    this.#projects.set(id, project);
    return project;
  }

  addMergeRequest(project: FakeProject, iid: number, title = `Merge request ${iid}`): FakeMergeRequest {
    const mergeRequest: FakeMergeRequest = {
      id: this.#id(),
      iid,
      project_id: project.id,
      title,
      state: "opened",
      source_branch: "feature",
      target_branch: "main",
      notes: [],
    };
    project.mergeRequests.set(iid, mergeRequest);
    return mergeRequest;
  }

  addToken(
    token: string,
    user: Partial<FakeUser> & { username: string },
    options: { scopes?: ("api" | "read_api")[]; projects?: number[] } = {},
  ): FakeUser {
    const full: FakeUser = {
      id: user.id ?? this.#id(),
      username: user.username,
      name: user.name ?? user.username,
      ...(user.bot !== undefined ? { bot: user.bot } : {}),
    };
    this.#tokens.set(token, { user: full, scopes: options.scopes ?? ["api"], ...(options.projects ? { projects: options.projects } : {}) });
    return full;
  }

  /** Seeds a note, e.g. a person's comment or a report note written by an earlier job. */
  addNote(project: FakeProject, mergeRequestIid: number, body: string, author: FakeUser, options: { system?: boolean } = {}): FakeNote {
    const mergeRequest = project.mergeRequests.get(mergeRequestIid);
    if (!mergeRequest) throw new Error(`no merge request !${mergeRequestIid}`);
    const note = this.#newNote(body, author, "MergeRequest", mergeRequest.id, mergeRequest.iid, project.id, options.system ?? false);
    mergeRequest.notes.push(note);
    return note;
  }

  /** Seeds an issue, as if someone (or an earlier job) had opened it. */
  addIssue(
    project: FakeProject,
    fields: { title: string; description?: string | null; labels?: string[]; state?: FakeIssue["state"] },
  ): FakeIssue {
    const iid = Math.max(0, ...project.issues.keys()) + 1;
    const now = this.#now();
    const state = fields.state ?? "opened";
    const issue: FakeIssue = {
      id: this.#id(),
      iid,
      project_id: project.id,
      title: fields.title,
      description: fields.description ?? null,
      state,
      labels: fields.labels ?? [],
      created_at: now,
      updated_at: now,
      closed_at: state === "closed" ? now : null,
      notes: [],
    };
    project.issues.set(iid, issue);
    return issue;
  }

  addPipeline(project: FakeProject, fields: { status?: string; ref?: string; source?: string } = {}): FakePipeline {
    const pipeline: FakePipeline = {
      id: this.#id(),
      iid: project.pipelines.size + 1,
      project_id: project.id,
      status: fields.status ?? "running",
      ref: fields.ref ?? "main",
      sha: "0123456789abcdef0123456789abcdef01234567",
      source: fields.source ?? "push",
      created_at: this.#now(),
      jobs: [],
      bridges: [],
    };
    project.pipelines.set(pipeline.id, pipeline);
    return pipeline;
  }

  /** A job of the pipeline; `artifacts` maps paths inside the job's artifacts archive to contents. */
  addJob(
    pipeline: FakePipeline,
    fields: { name: string; stage?: string; status?: string; retried?: boolean; artifacts?: Record<string, string> },
  ): FakeJob {
    const job: FakeJob = {
      id: this.#id(),
      name: fields.name,
      stage: fields.stage ?? "test",
      status: fields.status ?? "success",
      retried: fields.retried ?? false,
      ...(fields.artifacts ? { artifacts: new Map(Object.entries(fields.artifacts)) } : {}),
    };
    pipeline.jobs.push(job);
    return job;
  }

  addBridge(pipeline: FakePipeline, fields: { name: string; stage?: string; status?: string; downstream?: FakePipeline }): FakeBridge {
    const bridge: FakeBridge = {
      id: this.#id(),
      name: fields.name,
      stage: fields.stage ?? "test",
      status: fields.status ?? "success",
      ...(fields.downstream ? { downstream: fields.downstream } : {}),
    };
    pipeline.bridges.push(bridge);
    return bridge;
  }

  notesOf(project: FakeProject, mergeRequestIid: number): FakeNote[] {
    return [...(project.mergeRequests.get(mergeRequestIid)?.notes ?? [])];
  }

  /** The next `count` requests matching `match` answer with the fault instead. */
  failNext(count: number, fault: Fault, match: RequestMatch = {}): void {
    this.#faults.push({ fault, remaining: count, match });
  }

  /** Holds requests matching `match` until `count` of them have arrived, then lets them all through. */
  holdUntil(count: number, match: RequestMatch): void {
    this.#barriers.push({ match, count, waiting: [] });
  }

  /** Every request body and URL that reached the server, for leak checks. */
  sentText(): string {
    return this.requests
      .map((request) => `${request.method} ${request.path}?${new URLSearchParams(request.query).toString()}\n${request.body}`)
      .join("\n");
  }

  #id(): number {
    this.#nextId += 1;
    return this.#nextId;
  }

  #now(): string {
    this.#clock += 1;
    return new Date(START + this.#clock * 1_000).toISOString();
  }

  #newNote(
    body: string,
    author: FakeUser,
    type: FakeNote["noteable_type"],
    noteableId: number,
    noteableIid: number,
    projectId: number,
    system: boolean,
  ): FakeNote {
    const now = this.#now();
    return {
      id: this.#id(),
      body,
      author,
      created_at: now,
      updated_at: now,
      system,
      noteable_id: noteableId,
      noteable_type: type,
      noteable_iid: noteableIid,
      project_id: projectId,
    };
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    // Links are built on the host the client asked for (through a proxy, a name only it resolves).
    const url = new URL(request.url ?? "/", request.headers.host ? `http://${request.headers.host}` : this.url);
    const body = await readBody(request);
    const recorded: RecordedRequest = {
      method: request.method ?? "GET",
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: request.headers,
      body,
    };
    this.requests.push(recorded);
    const send = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
      recorded.status = status;
      if (payload === undefined) {
        response.writeHead(status, headers).end();
        return;
      }
      const text = typeof payload === "string" ? payload : JSON.stringify(payload);
      response
        .writeHead(status, {
          "content-type": typeof payload === "string" ? (headers["content-type"] ?? "text/plain") : "application/json",
          ...headers,
        })
        .end(text);
    };

    await this.#passBarriers(recorded);
    const fault = this.#takeFault(recorded);
    if (fault) {
      sendFault(fault, send);
      return;
    }

    try {
      this.#route(recorded, url, send);
    } catch (error) {
      send(500, { message: `500 Internal Server Error (fake: ${(error as Error).message})` });
    }
  }

  async #passBarriers(request: RecordedRequest): Promise<void> {
    const barrier = this.#barriers.find((candidate) => matches(candidate.match, request) && candidate.count > 0);
    if (!barrier) return;
    await new Promise<void>((resolve) => {
      barrier.waiting.push(resolve);
      if (barrier.waiting.length >= barrier.count) {
        barrier.count = 0;
        barrier.waiting.splice(0).forEach((release) => release());
      }
    });
  }

  #takeFault(request: RecordedRequest): Fault | undefined {
    const pending = this.#faults.find((candidate) => candidate.remaining > 0 && matches(candidate.match, request));
    if (!pending) return undefined;
    pending.remaining -= 1;
    this.#faults = this.#faults.filter((candidate) => candidate.remaining > 0);
    return pending.fault;
  }

  #route(request: RecordedRequest, url: URL, send: Send): void {
    if (!request.path.startsWith("/api/v4/")) {
      send(404, { error: "404 Not Found" });
      return;
    }
    const segments = request.path.slice("/api/v4/".length).split("/").map(decodeURIComponent);
    const token = this.#authenticate(request.headers);
    if (!token) {
      send(401, { message: "401 Unauthorized" });
      return;
    }
    const writing = request.method !== "GET" && request.method !== "HEAD";
    if (writing && !token.scopes.includes("api")) {
      send(403, {
        error: "insufficient_scope",
        error_description: "The request requires higher privileges than provided by the access token.",
        scope: "api",
      });
      return;
    }

    const [resource, projectRef, kind, iidText, sub, noteText, ...rest] = segments;
    if (resource === "user" && segments.length === 1 && request.method === "GET") {
      send(200, userJson(token.user, this.url));
      return;
    }
    if (resource !== "projects" || projectRef === undefined) {
      send(404, { error: "404 Not Found" });
      return;
    }
    const project = this.#findProject(projectRef);
    if (!project || (token.projects && !token.projects.includes(project.id))) {
      send(404, { message: "404 Project Not Found" });
      return;
    }
    // GET /projects/:id/jobs/:job_id/artifacts/*artifact_path: the path may have any depth.
    if (kind === "jobs" && iidText !== undefined && sub === "artifacts" && noteText !== undefined && request.method === "GET") {
      this.#artifact(project, Number(iidText), [noteText, ...rest].join("/"), send);
      return;
    }
    if (rest.length > 0) {
      send(404, { error: "404 Not Found" });
      return;
    }
    const params = { ...request.query, ...parseParams(request) };

    if (
      kind === "pipelines" &&
      iidText !== undefined &&
      (sub === "jobs" || sub === "bridges") &&
      noteText === undefined &&
      request.method === "GET"
    ) {
      const pipeline = project.pipelines.get(Number(iidText));
      if (!pipeline) {
        send(404, { message: "404 Not found" });
        return;
      }
      const scopes = labelsOf(params["scope"] ?? params["scope[]"]);
      const inScope = (status: string) => scopes.length === 0 || scopes.includes(status);
      if (sub === "bridges") {
        const bridges = pipeline.bridges.filter((bridge) => inScope(bridge.status)).sort((a, b) => b.id - a.id);
        this.#paginate(url, bridges, send, (bridge) => this.#bridgeJson(project, pipeline, bridge));
        return;
      }
      const includeRetried = params["include_retried"] === "true" || params["include_retried"] === true;
      const jobs = pipeline.jobs.filter((job) => (includeRetried || !job.retried) && inScope(job.status)).sort((a, b) => b.id - a.id);
      this.#paginate(url, jobs, send, (job) => this.#jobJson(project, pipeline, job));
      return;
    }

    if (kind === "merge_requests" && iidText === undefined) {
      this.#mergeRequests(request, url, params, send, project);
      return;
    }
    if (kind === "merge_requests" && iidText !== undefined) {
      const mergeRequest = project.mergeRequests.get(Number(iidText));
      if (!mergeRequest) {
        send(404, { message: sub === "notes" ? "404 MergeRequest Not Found" : "404 Merge Request Not Found" });
        return;
      }
      if (sub === undefined && request.method === "GET") {
        send(200, this.#mergeRequestJson(project, mergeRequest));
        return;
      }
      if (sub === undefined && request.method === "PUT") {
        if (typeof params["title"] === "string") mergeRequest.title = params["title"];
        if (typeof params["description"] === "string") mergeRequest.description = params["description"];
        if (typeof params["target_branch"] === "string") mergeRequest.target_branch = params["target_branch"];
        if (params["state_event"] === "close") mergeRequest.state = "closed";
        if (params["state_event"] === "reopen") mergeRequest.state = "opened";
        mergeRequest.updated_at = this.#now();
        send(200, this.#mergeRequestJson(project, mergeRequest));
        return;
      }
      if (sub === "notes") {
        const create = (body: string) => {
          const note = this.#newNote(body, token.user, "MergeRequest", mergeRequest.id, mergeRequest.iid, project.id, false);
          mergeRequest.updated_at = note.created_at;
          return note;
        };
        this.#notes(request, url, params, send, token.user, mergeRequest.notes, create, noteText);
        return;
      }
      send(404, { error: "404 Not Found" });
      return;
    }

    if (kind === "issues") {
      if (iidText === undefined) {
        if (request.method === "GET") {
          // Default order: created_at desc; updated_at ties broken by id, as GitLab's tie breaker does.
          const direction = params["sort"] === "asc" ? 1 : -1;
          const byUpdate = params["order_by"] === "updated_at";
          const matching = [...project.issues.values()]
            .filter((issue) => issueMatches(issue, params))
            .sort((a, b) => direction * (byUpdate ? a.updated_at.localeCompare(b.updated_at) || a.id - b.id : a.id - b.id));
          this.#paginate(url, matching, send, (issue) => this.#issueJson(project, issue));
          return;
        }
        if (request.method === "POST") {
          const title = params["title"];
          if (typeof title !== "string") {
            send(400, { error: "title is missing" });
            return;
          }
          const iid = Math.max(0, ...project.issues.keys()) + 1;
          const now = this.#now();
          const issue: FakeIssue = {
            id: this.#id(),
            iid,
            project_id: project.id,
            title,
            description: stringOr(params["description"], null),
            state: "opened",
            labels: labelsOf(params["labels"]),
            created_at: now,
            updated_at: now,
            closed_at: null,
            notes: [],
          };
          project.issues.set(iid, issue);
          send(201, this.#issueJson(project, issue));
          return;
        }
        send(405, { message: "405 Method Not Allowed" });
        return;
      }
      const issue = project.issues.get(Number(iidText));
      if (!issue) {
        send(404, { message: "404 Issue Not Found" });
        return;
      }
      if (sub === undefined) {
        if (request.method === "GET") {
          send(200, this.#issueJson(project, issue));
          return;
        }
        if (request.method === "PUT") {
          const stateEvent = params["state_event"];
          // Grape's `values: %w[reopen close]` validation, before anything changes.
          if (stateEvent !== undefined && stateEvent !== "close" && stateEvent !== "reopen") {
            send(400, { error: "state_event does not have a valid value" });
            return;
          }
          if (typeof params["title"] === "string") issue.title = params["title"];
          if (typeof params["description"] === "string") issue.description = params["description"];
          if (params["labels"] !== undefined) issue.labels = labelsOf(params["labels"]);
          if (params["add_labels"] !== undefined) issue.labels = [...new Set([...issue.labels, ...labelsOf(params["add_labels"])])];
          if (params["remove_labels"] !== undefined)
            issue.labels = issue.labels.filter((label) => !labelsOf(params["remove_labels"]).includes(label));
          issue.updated_at = this.#now();
          if (stateEvent === "close" && issue.state !== "closed") Object.assign(issue, { state: "closed", closed_at: issue.updated_at });
          if (stateEvent === "reopen" && issue.state !== "opened") Object.assign(issue, { state: "opened", closed_at: null });
          send(200, this.#issueJson(project, issue));
          return;
        }
        send(405, { message: "405 Method Not Allowed" });
        return;
      }
      if (sub === "notes") {
        const create = (body: string) => {
          const note = this.#newNote(body, token.user, "Issue", issue.id, issue.iid, project.id, false);
          issue.updated_at = note.created_at;
          return note;
        };
        this.#notes(request, url, params, send, token.user, issue.notes, create, noteText);
        return;
      }
    }
    send(404, { error: "404 Not Found" });
  }

  #mergeRequests(request: RecordedRequest, url: URL, params: Params, send: Send, project: FakeProject): void {
    if (request.method === "GET") {
      const direction = params["sort"] === "asc" ? 1 : -1;
      const orderBy = params["order_by"] === "updated_at" ? "updated_at" : "created_at";
      const matching = [...project.mergeRequests.values()]
        .filter((mergeRequest) => params["state"] === undefined || params["state"] === "all" || mergeRequest.state === params["state"])
        .filter((mergeRequest) => params["source_branch"] === undefined || mergeRequest.source_branch === params["source_branch"])
        .filter((mergeRequest) => params["target_branch"] === undefined || mergeRequest.target_branch === params["target_branch"])
        .sort(
          (a, b) =>
            direction * (orderBy === "updated_at" ? (a.updated_at ?? "").localeCompare(b.updated_at ?? "") || a.id - b.id : a.id - b.id),
        );
      this.#paginate(url, matching, send, (mergeRequest) => this.#mergeRequestJson(project, mergeRequest));
      return;
    }
    if (request.method === "POST") {
      // Grape validates required parameters before anything else (400 "<name> is missing").
      for (const required of ["source_branch", "target_branch", "title"]) {
        if (typeof params[required] !== "string" || params[required] === "") {
          send(400, { error: `${required} is missing` });
          return;
        }
      }
      const source = String(params["source_branch"]);
      const target = String(params["target_branch"]);
      const open = [...project.mergeRequests.values()].find(
        (mergeRequest) => mergeRequest.state === "opened" && mergeRequest.source_branch === source && mergeRequest.target_branch === target,
      );
      if (open) {
        send(409, { message: [`Another open merge request already exists for this source branch: !${open.iid}`] });
        return;
      }
      const iid = Math.max(0, ...project.mergeRequests.keys()) + 1;
      const now = this.#now();
      const mergeRequest: FakeMergeRequest = {
        id: this.#id(),
        iid,
        project_id: project.id,
        title: String(params["title"]),
        state: "opened",
        source_branch: source,
        target_branch: target,
        notes: [],
        description: stringOr(params["description"], null),
        created_at: now,
        updated_at: now,
      };
      project.mergeRequests.set(iid, mergeRequest);
      send(201, this.#mergeRequestJson(project, mergeRequest));
      return;
    }
    send(405, { message: "405 Method Not Allowed" });
  }

  #notes(
    request: RecordedRequest,
    url: URL,
    params: Params,
    send: Send,
    user: FakeUser,
    notes: FakeNote[],
    create: (body: string) => FakeNote,
    noteText: string | undefined,
  ): void {
    if (noteText === undefined) {
      if (request.method === "GET") {
        const orderBy = params["order_by"] === "updated_at" ? "updated_at" : "created_at";
        const direction = params["sort"] === "asc" ? 1 : -1;
        // created_at is ordered by id, as GitLab's order_options_with_tie_breaker does.
        const sorted = [...notes].sort(
          (a, b) => direction * (orderBy === "updated_at" ? a.updated_at.localeCompare(b.updated_at) || a.id - b.id : a.id - b.id),
        );
        this.#paginate(url, sorted, send, noteJson);
        return;
      }
      if (request.method === "POST") {
        const body = params["body"];
        if (typeof body !== "string") {
          send(400, { error: "body is missing" });
          return;
        }
        const invalid = validateNoteBody(body);
        if (invalid) {
          send(400, { message: invalid });
          return;
        }
        const note = create(body);
        notes.push(note);
        send(201, noteJson(note));
        return;
      }
      send(405, { message: "405 Method Not Allowed" });
      return;
    }
    const note = notes.find((candidate) => candidate.id === Number(noteText));
    if (!note) {
      send(404, { message: "404 Not found" });
      return;
    }
    if (request.method === "GET") {
      send(200, noteJson(note));
      return;
    }
    // admin_note: only the author may edit or delete a note (maintainers are not modelled); never a system note.
    if (note.system || note.author.id !== user.id) {
      send(403, { message: "403 Forbidden" });
      return;
    }
    if (request.method === "PUT") {
      const body = params["body"];
      if (body !== undefined && (typeof body !== "string" || body === "")) {
        send(400, { error: "body is empty" });
        return;
      }
      if (typeof body === "string") {
        const invalid = validateNoteBody(body);
        if (invalid) {
          send(400, { message: invalid });
          return;
        }
        note.body = body;
        note.updated_at = this.#now();
      }
      send(200, noteJson(note));
      return;
    }
    if (request.method === "DELETE") {
      notes.splice(notes.indexOf(note), 1);
      send(204, undefined);
      return;
    }
    send(405, { message: "405 Method Not Allowed" });
  }

  #paginate<T>(url: URL, items: readonly T[], send: Send, toJson: (item: T) => unknown): void {
    const perPage = clamp(Number(url.searchParams.get("per_page") ?? 20) || 20, 1, 100);
    const page = Math.max(1, Math.trunc(Number(url.searchParams.get("page") ?? 1) || 1));
    const totalPages = Math.max(1, Math.ceil(items.length / perPage));
    const slice = items.slice((page - 1) * perPage, page * perPage);
    const link = (target: number, rel: string) => {
      const query = new URLSearchParams(url.searchParams);
      query.set("page", String(target));
      query.set("per_page", String(perPage));
      return `<${url.origin}${url.pathname}?${query.toString()}>; rel="${rel}"`;
    };
    const links = [
      page > 1 ? link(page - 1, "prev") : "",
      page < totalPages ? link(page + 1, "next") : "",
      link(1, "first"),
      link(totalPages, "last"),
    ].filter(Boolean);
    send(200, slice.map(toJson), {
      "x-page": String(page),
      "x-per-page": String(perPage),
      "x-next-page": page < totalPages ? String(page + 1) : "",
      "x-prev-page": page > 1 ? String(page - 1) : "",
      "x-total": String(items.length),
      "x-total-pages": String(totalPages),
      link: links.join(", "),
    });
  }

  #authenticate(headers: IncomingHttpHeaders): FakeToken | undefined {
    const privateToken = headers["private-token"];
    const bearer = /^Bearer (.+)$/i.exec(headers["authorization"] ?? "")?.[1];
    const value = (Array.isArray(privateToken) ? privateToken[0] : privateToken) ?? bearer;
    return value ? this.#tokens.get(value) : undefined;
  }

  #findProject(reference: string): FakeProject | undefined {
    if (/^\d+$/.test(reference)) return this.#projects.get(Number(reference));
    return [...this.#projects.values()].find((project) => project.path_with_namespace === reference);
  }

  #mergeRequestJson(project: FakeProject, mergeRequest: FakeMergeRequest): Record<string, unknown> {
    return {
      id: mergeRequest.id,
      iid: mergeRequest.iid,
      project_id: project.id,
      title: mergeRequest.title,
      description: mergeRequest.description ?? null,
      state: mergeRequest.state,
      created_at: mergeRequest.created_at ?? null,
      updated_at: mergeRequest.updated_at ?? null,
      source_branch: mergeRequest.source_branch,
      target_branch: mergeRequest.target_branch,
      user_notes_count: mergeRequest.notes.filter((note) => !note.system).length,
      web_url: `${this.url}/${project.path_with_namespace}/-/merge_requests/${mergeRequest.iid}`,
    };
  }

  /**
   * Workhorse serves a file of the artifacts archive with a Content-Type from its extension (Go's
   * mime.TypeByExtension) and as an attachment; Rails answers 404 first when the job kept none.
   */
  #artifact(project: FakeProject, jobId: number, artifactPath: string, send: Send): void {
    const job = [...project.pipelines.values()].flatMap((pipeline) => pipeline.jobs).find((candidate) => candidate.id === jobId);
    if (!job) {
      send(404, { message: "404 Not found" });
      return;
    }
    if (!job.artifacts) {
      send(404, { message: "404 Artifact Not Found" });
      return;
    }
    const content = job.artifacts.get(artifactPath);
    if (content === undefined) {
      send(404, "Not Found\n", { "content-type": "text/plain; charset=utf-8" });
      return;
    }
    const name = artifactPath.slice(artifactPath.lastIndexOf("/") + 1);
    send(200, content, { "content-type": contentTypeByExtension(name), "content-disposition": `attachment; filename="${name}"` });
  }

  /** GitLab's PipelineBasic entity, which jobs and trigger jobs name their pipelines with. */
  #pipelineJson(project: FakeProject, pipeline: FakePipeline): Record<string, unknown> {
    return {
      id: pipeline.id,
      iid: pipeline.iid,
      project_id: project.id,
      sha: pipeline.sha,
      ref: pipeline.ref,
      status: pipeline.status,
      source: pipeline.source,
      created_at: pipeline.created_at,
      updated_at: pipeline.created_at,
      web_url: `${this.url}/${project.path_with_namespace}/-/pipelines/${pipeline.id}`,
    };
  }

  #jobJson(project: FakeProject, pipeline: FakePipeline, job: FakeJob): Record<string, unknown> {
    return {
      id: job.id,
      name: job.name,
      stage: job.stage,
      status: job.status,
      ref: pipeline.ref,
      tag: false,
      allow_failure: false,
      pipeline: this.#pipelineJson(project, pipeline),
      artifacts: job.artifacts ? [{ file_type: "archive", size: 1000, filename: "artifacts.zip", file_format: "zip" }] : [],
      web_url: `${this.url}/${project.path_with_namespace}/-/jobs/${job.id}`,
    };
  }

  #bridgeJson(project: FakeProject, pipeline: FakePipeline, bridge: FakeBridge): Record<string, unknown> {
    return {
      id: bridge.id,
      name: bridge.name,
      stage: bridge.stage,
      status: bridge.status,
      ref: pipeline.ref,
      tag: false,
      allow_failure: false,
      pipeline: this.#pipelineJson(project, pipeline),
      downstream_pipeline: bridge.downstream ? this.#pipelineJson(project, bridge.downstream) : null,
      web_url: `${this.url}/${project.path_with_namespace}/-/jobs/${bridge.id}`,
    };
  }

  #issueJson(project: FakeProject, issue: FakeIssue): Record<string, unknown> {
    return {
      id: issue.id,
      iid: issue.iid,
      project_id: project.id,
      title: issue.title,
      description: issue.description,
      state: issue.state,
      labels: issue.labels,
      created_at: issue.created_at,
      updated_at: issue.updated_at,
      closed_at: issue.closed_at,
      user_notes_count: issue.notes.length,
      web_url: `${this.url}/${project.path_with_namespace}/-/issues/${issue.iid}`,
    };
  }
}

type Params = Record<string, unknown>;
type Send = (status: number, payload: unknown, headers?: Record<string, string>) => void;

function noteJson(note: FakeNote): Record<string, unknown> {
  return {
    id: note.id,
    type: null,
    body: note.body,
    attachment: null,
    author: { id: note.author.id, username: note.author.username, name: note.author.name, state: "active" },
    created_at: note.created_at,
    updated_at: note.updated_at,
    system: note.system,
    noteable_id: note.noteable_id,
    noteable_type: note.noteable_type,
    project_id: note.project_id,
    noteable_iid: note.noteable_iid,
    resolvable: false,
    confidential: false,
    internal: false,
    imported: false,
    imported_from: "none",
  };
}

/** GET /user's answer for a token's user (the public fields and the bot flag). */
function userJson(user: FakeUser, url: string): Record<string, unknown> {
  return {
    id: user.id,
    username: user.username,
    name: user.name,
    state: "active",
    locked: false,
    avatar_url: null,
    web_url: `${url}/${user.username}`,
    bot: user.bot ?? false,
    created_at: new Date(START).toISOString(),
  };
}

/** The Note model's length validation, as `bad_request!("Note #{note.errors.messages}")` reports it. */
function validateNoteBody(body: string): string | undefined {
  const length = [...body].length;
  if (length <= MAX_NOTE_LENGTH) return undefined;
  return `400 Bad request - Note {:note=>["is too long (maximum is ${MAX_NOTE_LENGTH} characters)"]}`;
}

function sendFault(fault: Fault, send: Send): void {
  const retryAfter: Record<string, string> = fault.retryAfter !== undefined ? { "retry-after": fault.retryAfter } : {};
  if (fault.status === 429) {
    // Rack::Attack's throttled response (lib/gitlab/rack_attack.rb).
    const reset = Math.floor(Date.now() / 1000) + 60;
    send(429, "Retry later\n", {
      "content-type": "text/plain",
      "ratelimit-name": "throttle_authenticated_api",
      "ratelimit-limit": "2000",
      "ratelimit-observed": "2001",
      "ratelimit-remaining": "0",
      "ratelimit-reset": String(reset),
      "ratelimit-resettime": new Date(reset * 1000).toUTCString(),
      ...retryAfter,
    });
    return;
  }
  if (fault.status === 500) {
    send(500, { message: "500 Internal Server Error" }, retryAfter);
    return;
  }
  const title = fault.status === 502 ? "502 Bad Gateway" : "503 Service Unavailable";
  send(
    fault.status,
    `<!DOCTYPE html>\n<html><head><title>${title}</title></head><body><h1>${title}</h1><p>Whoops, GitLab is taking too much time to respond.</p></body></html>\n`,
    {
      "content-type": "text/html; charset=utf-8",
      ...retryAfter,
    },
  );
}

function matches(match: RequestMatch, request: RecordedRequest): boolean {
  return (match.method === undefined || match.method === request.method) && (match.path === undefined || match.path.test(request.path));
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function parseParams(request: RecordedRequest): Params {
  if (!request.body) return {};
  const type = request.headers["content-type"] ?? "";
  if (type.includes("application/json")) {
    const parsed = JSON.parse(request.body) as unknown;
    return typeof parsed === "object" && parsed !== null ? (parsed as Params) : {};
  }
  if (type.includes("application/x-www-form-urlencoded")) return Object.fromEntries(new URLSearchParams(request.body));
  return {};
}

function issueMatches(issue: FakeIssue, params: Params): boolean {
  const state = params["state"];
  if ((state === "opened" || state === "closed") && issue.state !== state) return false;
  const labels = params["labels"] !== undefined ? labelsOf(params["labels"]) : [];
  if (!labels.every((label) => issue.labels.includes(label))) return false;
  // GitLab searches words, not the phrase: every word must appear in the title or in the description.
  const search = params["search"];
  if (typeof search === "string" && search.trim() !== "") {
    const words = search.toLowerCase().split(/\s+/).filter(Boolean);
    const inText = (text: string) => words.every((word) => text.toLowerCase().includes(word));
    if (!inText(issue.title) && !inText(issue.description ?? "")) return false;
  }
  return true;
}

function labelsOf(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(String);
  if (typeof value === "string")
    return value
      .split(",")
      .map((label) => label.trim())
      .filter(Boolean);
  return [];
}

/** Go's built-in extension table (mime.TypeByExtension without system files), as Workhorse uses it. */
function contentTypeByExtension(name: string): string {
  const types: Record<string, string> = {
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".pdf": "application/pdf",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".xml": "text/xml; charset=utf-8",
  };
  const dot = name.lastIndexOf(".");
  return (dot >= 0 ? types[name.slice(dot).toLowerCase()] : undefined) ?? "application/octet-stream";
}

function stringOr<T>(value: unknown, fallback: T): string | T {
  return typeof value === "string" ? value : fallback;
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, Math.trunc(value)));
}
