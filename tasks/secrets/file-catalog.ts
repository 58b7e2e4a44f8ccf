// Each repository file read and inspected once, however many checks ask about it. A file that is
// there but cannot be inspected (too large, unreadable) becomes a finding: never a silent skip.
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import type { Finding } from "../../core/model/findings.ts";
import { inspectSopsFile, type SopsFileInspection } from "../../core/sops/encrypted-file.ts";

/** Larger files are not read: no secret manifest or sops file is this big. */
export const MAX_INSPECTED_BYTES = 8 * 1024 * 1024;

export interface CatalogEntry {
  file: string;
  inspection: SopsFileInspection;
  /** The text, for files that are not binary; kept in memory only. */
  text?: string;
}

export class FileCatalog {
  readonly root: string;
  readonly #entries = new Map<string, Promise<CatalogEntry | undefined>>();
  readonly #uninspected = new Map<string, Finding>();

  constructor(root: string) {
    this.root = root;
  }

  /**
   * Undefined when the file does not exist (a missing generator input is a render error, reported
   * there), or when it could not be inspected: then `uninspected` has a finding for it.
   */
  get(file: string): Promise<CatalogEntry | undefined> {
    let entry = this.#entries.get(file);
    if (!entry) {
      entry = this.#read(file);
      this.#entries.set(file, entry);
    }
    return entry;
  }

  /** One finding per file asked for that exists but was not inspected, in the order they were asked for. */
  get uninspected(): Finding[] {
    return [...this.#uninspected.values()];
  }

  async #read(file: string): Promise<CatalogEntry | undefined> {
    const absolute = path.join(this.root, file);
    try {
      const { size } = await stat(absolute);
      if (size > MAX_INSPECTED_BYTES) {
        this.#uninspected.set(file, tooLarge(file, size));
        return undefined;
      }
      const bytes = await readFile(absolute);
      const inspection = inspectSopsFile(file, bytes);
      return inspection.binaryContent ? { file, inspection } : { file, inspection, text: bytes.toString("utf8") };
    } catch (error) {
      const code = errorCode(error);
      if (code !== "ENOENT" && code !== "ENOTDIR") this.#uninspected.set(file, unreadable(file, error));
      return undefined;
    }
  }
}

function tooLarge(file: string, size: number): Finding {
  return {
    severity: "warning",
    check: "secrets/file-too-large",
    file,
    message: `${file} is ${formatSize(size)}, over the ${formatSize(MAX_INSPECTED_BYTES)} the secrets checks read: it was not checked for plaintext secrets, private keys or sops encryption`,
    hint: "no secret manifest or sops file is this large; keep generated or binary files out of the repository (or in Git LFS), or switch this check off in gitops-ci.yaml rules: once you know the file holds no secret",
  };
}

function unreadable(file: string, error: unknown): Finding {
  const code = errorCode(error);
  return {
    severity: "error",
    check: "secrets/unreadable-file",
    file,
    message: `${file} cannot be read (${code ?? (error instanceof Error ? error.message : String(error))}): it was not checked for plaintext secrets, private keys or sops encryption`,
    hint:
      code === "EISDIR"
        ? "a file is expected here, not a folder"
        : code === "EACCES" || code === "EPERM"
          ? "make the file readable by the CI job's user (a git checkout is; look for a chmod or a mount in the job)"
          : "check the file in the job's checkout",
  };
}

/** `8 MiB`, `12.5 MiB (13,107,200 bytes)`: exact where it matters. */
export function formatSize(bytes: number): string {
  const mebibytes = bytes / (1024 * 1024);
  if (Number.isInteger(mebibytes)) return `${mebibytes} MiB`;
  return `${mebibytes.toFixed(1)} MiB (${bytes.toLocaleString("en-US")} bytes)`;
}

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}
