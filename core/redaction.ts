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
  // Inside a longer encoded string the value starts at one of three alignments: the characters
  // that depend on the value alone are the same whatever surrounds it.
  for (const fragment of base64Fragments(value)) forms.add(fragment);
  forms.add(JSON.stringify(value).slice(1, -1));
  // Multi-line values (keys, certificates) leak line by line too.
  for (const line of value.split("\n")) if (line.trim().length >= 12) forms.add(line.trim());
  return [...forms].filter((form) => form !== "");
}

/** Encoded fragments shorter than this would match unrelated base64 by chance. */
const MIN_FRAGMENT_LENGTH = 8;

function base64Fragments(value: string): string[] {
  const bytes = Buffer.from(value, "utf8");
  const fragments: string[] = [];
  for (const offset of [1, 2]) {
    const encoded = Buffer.concat([Buffer.alloc(offset), bytes]).toString("base64");
    const fragment = encoded.slice(Math.ceil((8 * offset) / 6), Math.floor((8 * (offset + bytes.length)) / 6));
    if (fragment.length >= MIN_FRAGMENT_LENGTH) fragments.push(fragment);
  }
  // At offset 0, the full groups without the padding.
  const plain = bytes.toString("base64").slice(0, Math.floor((8 * bytes.length) / 6));
  if (plain.length >= MIN_FRAGMENT_LENGTH) fragments.push(plain);
  return fragments;
}

/** Text that a RegExp matches literally. */
export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
