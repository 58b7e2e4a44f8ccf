// Every byte we print or write passes through one Redactor: secret values found anywhere in a run
// are registered here, and replaced wherever they would otherwise appear.

export const REDACTED = "[REDACTED]";

/** Values shorter than this are too common to mask without mangling ordinary text. */
const MIN_SECRET_LENGTH = 4;

export class Redactor {
  readonly #values = new Set<string>();
  #pattern: RegExp | undefined;

  /** Registers a secret value together with the encodings it may appear in. */
  add(value: string): void {
    for (const form of encodingsOf(value)) {
      if (form.length >= MIN_SECRET_LENGTH && !this.#values.has(form)) {
        this.#values.add(form);
        this.#pattern = undefined;
      }
    }
  }

  get size(): number {
    return this.#values.size;
  }

  redact(text: string): string {
    if (this.#values.size === 0) return text;
    this.#pattern ??= new RegExp(
      [...this.#values]
        .sort((a, b) => b.length - a.length)
        .map(escapeRegExp)
        .join("|"),
      "g",
    );
    return text.replace(this.#pattern, REDACTED);
  }
}

function encodingsOf(value: string): string[] {
  const forms = new Set<string>([value, value.trim()]);
  forms.add(Buffer.from(value, "utf8").toString("base64"));
  forms.add(JSON.stringify(value).slice(1, -1));
  // Multi-line values (keys, certificates) leak line by line too.
  for (const line of value.split("\n")) if (line.trim().length >= 12) forms.add(line.trim());
  return [...forms].filter((form) => form !== "");
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
