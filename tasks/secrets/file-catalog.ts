// Each repository file read and inspected once, however many checks ask about it.
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { inspectSopsFile, type SopsFileInspection } from "../../core/sops/encrypted-file.ts";

/** Larger files are not read: no secret manifest or sops file is this big. */
const MAX_INSPECTED_BYTES = 8 * 1024 * 1024;

export interface CatalogEntry {
  file: string;
  inspection: SopsFileInspection;
  /** The text, for files that are not binary; kept in memory only. */
  text?: string;
}

export class FileCatalog {
  readonly root: string;
  readonly #entries = new Map<string, Promise<CatalogEntry | undefined>>();

  constructor(root: string) {
    this.root = root;
  }

  /** Undefined when the file does not exist, cannot be read, or is too large to be a secret. */
  get(file: string): Promise<CatalogEntry | undefined> {
    let entry = this.#entries.get(file);
    if (!entry) {
      entry = this.#read(file);
      this.#entries.set(file, entry);
    }
    return entry;
  }

  async #read(file: string): Promise<CatalogEntry | undefined> {
    const absolute = path.join(this.root, file);
    try {
      if ((await stat(absolute)).size > MAX_INSPECTED_BYTES) return undefined;
      const bytes = await readFile(absolute);
      const inspection = inspectSopsFile(file, bytes);
      return inspection.binaryContent ? { file, inspection } : { file, inspection, text: bytes.toString("utf8") };
    } catch {
      return undefined;
    }
  }
}
