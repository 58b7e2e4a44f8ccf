// dotenv and INI, parsed the way sops's stores parse them (stores/dotenv, stores/ini), with lines.
// Metadata in these formats is flattened: `sops_age__list_0__map_recipient=…` (stores/flatten.go).

export interface FlatEntry {
  /** dotenv: [key]; INI: [section, key]. */
  path: string[];
  value: string;
  line: number;
}

export interface FlatFile {
  entries: FlatEntry[];
  /** The flattened sops metadata entries, prefix removed, or undefined when there are none. */
  metadata?: { entries: Record<string, string>; line: number };
  error?: { message: string; line: number };
}

const DOTENV_METADATA_PREFIX = "sops_";

export function parseDotenv(text: string): FlatFile {
  const entries: FlatEntry[] = [];
  const metadata: Record<string, string> = {};
  let metadataLine: number | undefined;
  const lines = text.split("\n");
  for (let index = 0; index < lines.length; index += 1) {
    const line = lines[index]!;
    if (line.length === 0 || line.startsWith("#")) continue;
    const equals = line.indexOf("=");
    if (equals === -1) return { entries, error: { message: "a line has no '=' (sops: invalid dotenv input line)", line: index + 1 } };
    const key = line.slice(0, equals);
    const value = line.slice(equals + 1).replace(/\\n/g, "\n");
    if (key.startsWith(DOTENV_METADATA_PREFIX)) {
      metadata[key.slice(DOTENV_METADATA_PREFIX.length)] = value;
      metadataLine ??= index + 1;
    } else {
      entries.push({ path: [key], value, line: index + 1 });
    }
  }
  return { entries, ...(metadataLine !== undefined ? { metadata: { entries: metadata, line: metadataLine } } : {}) };
}

export function parseIni(text: string): FlatFile {
  const entries: FlatEntry[] = [];
  const metadata: Record<string, string> = {};
  let metadataLine: number | undefined;
  let section = "DEFAULT";
  const lines = text.split(/\r?\n/);
  for (let index = 0; index < lines.length; index += 1) {
    const line = lines[index]!.trim();
    if (line === "" || line.startsWith(";") || line.startsWith("#")) continue;
    const header = /^\[(.*)\]$/.exec(line);
    if (header) {
      section = header[1]!.trim();
      if (section === "sops") metadataLine ??= index + 1;
      continue;
    }
    const separator = line.search(/[=:]/);
    if (separator === -1)
      return { entries, error: { message: "a line is neither a section, a key = value pair nor a comment", line: index + 1 } };
    const key = line.slice(0, separator).trim();
    const value = unquote(line.slice(separator + 1).trim()).replace(/\\n/g, "\n");
    if (section === "sops") metadata[key] = value;
    else entries.push({ path: [section, key], value, line: index + 1 });
  }
  return { entries, ...(metadataLine !== undefined ? { metadata: { entries: metadata, line: metadataLine } } : {}) };
}

function unquote(value: string): string {
  const quoted = /^"(.*)"$/.exec(value) ?? /^'(.*)'$/.exec(value);
  return quoted ? quoted[1]! : value;
}

/** Rebuilds the metadata object from flattened keys, as stores.Unflatten does. */
export function unflattenMetadata(flat: Record<string, string>): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(flat)) {
    const tokens = tokenize(key);
    // Arrays are indexed through the same record view: JavaScript arrays accept "0", "1"… as keys.
    let node = root;
    tokens.forEach((token, index) => {
      const slot = String(token);
      if (index === tokens.length - 1) {
        node[slot] = value;
        return;
      }
      if (typeof node[slot] !== "object" || node[slot] === null) node[slot] = typeof tokens[index + 1] === "number" ? [] : {};
      node = node[slot] as Record<string, unknown>;
    });
  }
  return root;
}

function tokenize(key: string): (string | number)[] {
  const tokens: (string | number)[] = [];
  const pattern = /__(map|list)_/g;
  let start = 0;
  let kind: "map" | "list" = "map";
  for (let match = pattern.exec(key); match; match = pattern.exec(key)) {
    tokens.push(kind === "list" ? Number(key.slice(start, match.index)) : key.slice(start, match.index));
    kind = match[1] as "map" | "list";
    start = match.index + match[0].length;
  }
  tokens.push(kind === "list" ? Number(key.slice(start)) : key.slice(start));
  return tokens;
}
