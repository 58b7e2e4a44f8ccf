// Rendered objects as YAML files we keep (artifacts readable by the whole project). Secret values
// are masked node by node, never in the finished text: replacing part of a scalar in the text can
// break the YAML (`[REDACTED].example.com` reads as a flow sequence followed by junk). Strings
// that some reader would take for something else (YAML 1.1's `no`, `on`, `0x1F`, `1_000` in
// kubectl's and Flux's Go YAML, 1.2's `0o17`) are quoted, so every tool reads them as strings.
import { Document, isMap, isSeq, Pair, Scalar, Schema, YAMLMap, YAMLSeq, type Node, type ToStringOptions } from "yaml";
import type { Manifest } from "./manifests.ts";
import { REDACTED, type Redactor } from "./redaction.ts";
import { maskSecretValues } from "./secret-values.ts";

type Redact = Pick<Redactor, "redact">;

const TO_STRING: ToStringOptions = { lineWidth: 0 };

/**
 * The objects as one multi-document YAML stream: Secret values masked as everywhere we keep
 * objects, every string (map keys too) passed through the redactor, non-strings left as typed.
 */
export function formatManifestsYaml(manifests: readonly Manifest[], redactor: Redact): string {
  return manifests.map((manifest) => formatRedactedDocument(maskSecretValues(manifest), redactor)).join("---\n");
}

/** One YAML document of a JSON-like value, redacted node by node. */
export function formatRedactedDocument(value: unknown, redactor: Redact): string {
  const document = new Document(redactedNode(value, redactor), { aliasDuplicateObjects: false });
  const text = document.toString(TO_STRING);
  if (!leaks(text, redactor)) return text;
  // A registered value that no single scalar holds, only several together (a line of a Secret's
  // config file, `password: hunter2`, written as a map elsewhere): the smallest collection whose
  // YAML shows it is masked whole.
  document.contents = maskLeakingCollections(document.contents as Node, redactor);
  return document.toString(TO_STRING);
}

function redactedNode(value: unknown, redactor: Redact): Node {
  if (Array.isArray(value)) {
    const seq = new YAMLSeq();
    for (const item of value) seq.items.push(redactedNode(item, redactor));
    return seq;
  }
  if (value !== null && typeof value === "object") {
    const map = new YAMLMap();
    const keys = new Set<string>();
    for (const [key, item] of Object.entries(value)) {
      if (item === undefined) continue;
      map.items.push(new Pair(stringScalar(uniqueKey(redactor.redact(key), keys)), redactedNode(item, redactor)));
    }
    return map;
  }
  if (typeof value === "string") return stringScalar(redactor.redact(value));
  // A number or boolean whose text is a registered value (a PIN, a numeric token) becomes the mask.
  const text = String(value);
  return redactor.redact(text) === text ? new Scalar(value) : stringScalar(REDACTED);
}

/** Masked keys can collide (two secrets as keys of one map); YAML forbids duplicate keys. */
function uniqueKey(key: string, taken: Set<string>): string {
  let unique = key;
  for (let n = 2; taken.has(unique); n++) unique = `${key} (${n})`;
  taken.add(unique);
  return unique;
}

function stringScalar(value: string): Scalar<string> {
  const scalar = new Scalar(value);
  if (resolvesAsNonString(value)) scalar.type = Scalar.QUOTE_DOUBLE;
  return scalar;
}

/**
 * The plain-scalar patterns that YAML 1.1 (with the `<<` merge key) and 1.2's core schema resolve
 * to null, booleans, numbers and timestamps, as the `yaml` library applies them; js-yaml's default
 * schema is a subset of these. Go's YAML reads ints through strconv (any base prefix, either case,
 * a sign, underscores), hence the last pattern.
 */
const NON_STRING_PATTERNS: readonly RegExp[] = [
  ...[new Schema({ schema: "yaml-1.1", merge: true }), new Schema({ schema: "core" })].flatMap((schema) =>
    schema.tags.flatMap((tag) => (tag.default && tag.tag !== "tag:yaml.org,2002:str" && tag.test ? [tag.test] : [])),
  ),
  /^[-+]?0[bBoOxX][0-9a-fA-F_]+$/,
];

function resolvesAsNonString(value: string): boolean {
  return NON_STRING_PATTERNS.some((pattern) => pattern.test(value));
}

function maskLeakingCollections(node: Node, redactor: Redact): Node {
  if (isMap(node)) for (const pair of node.items) pair.value = maskLeakingCollections(pair.value as Node, redactor);
  else if (isSeq(node)) node.items = node.items.map((item) => maskLeakingCollections(item as Node, redactor));
  else return node;
  const text = new Document(node, { aliasDuplicateObjects: false }).toString(TO_STRING);
  return leaks(text, redactor) ? stringScalar(REDACTED) : node;
}

function leaks(text: string, redactor: Redact): boolean {
  return redactor.redact(text) !== text;
}
