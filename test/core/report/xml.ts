// A small, strict XML 1.0 reader for tests: enough to read a JUnit report back the way a parser
// would, and to fail loudly on anything not well-formed (bad characters, unknown entities, a raw
// `<` or `&`, mismatched or duplicate tags and attributes).

export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  /** Text directly inside this element, entities resolved. */
  text: string;
}

const NAME = /[A-Za-z_:][-A-Za-z0-9_.:]*/y;
const XML_CHAR = /^[\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]*$/u;

export function parseXml(source: string): XmlElement {
  if (!XML_CHAR.test(source)) throw new Error("character not allowed in XML 1.0");
  let at = 0;
  const fail = (what: string): never => {
    throw new Error(`${what} at offset ${at}: ${JSON.stringify(source.slice(at, at + 40))}`);
  };
  const skipSpace = () => {
    while (at < source.length && /\s/.test(source[at]!)) at += 1;
  };
  const name = (): string => {
    NAME.lastIndex = at;
    const match = NAME.exec(source);
    if (!match) return fail("expected a name");
    at += match[0].length;
    return match[0];
  };
  const expect = (text: string) => {
    if (!source.startsWith(text, at)) fail(`expected ${JSON.stringify(text)}`);
    at += text.length;
  };

  if (source.startsWith("<?xml", at)) {
    const end = source.indexOf("?>", at);
    if (end < 0) fail("unterminated XML declaration");
    at = end + 2;
  }
  skipSpace();

  const element = (): XmlElement => {
    expect("<");
    const tag = name();
    const attributes: Record<string, string> = {};
    for (;;) {
      const before = at;
      skipSpace();
      if (source.startsWith("/>", at)) {
        at += 2;
        return { name: tag, attributes, children: [], text: "" };
      }
      if (source[at] === ">") {
        at += 1;
        break;
      }
      if (at === before) fail("expected whitespace before an attribute");
      const attribute = name();
      if (attribute in attributes) fail(`duplicate attribute ${attribute}`);
      skipSpace();
      expect("=");
      skipSpace();
      const quote = source[at];
      if (quote !== '"' && quote !== "'") return fail("expected a quoted attribute value");
      at += 1;
      const end = source.indexOf(quote, at);
      if (end < 0) fail("unterminated attribute value");
      const raw = source.slice(at, end);
      if (raw.includes("<")) fail("raw < in an attribute value");
      // Attribute-value normalisation: literal white space becomes a space, character references stay.
      attributes[attribute] = resolveEntities(raw.replace(/[\t\n\r]/g, " "), fail);
      at = end + 1;
    }
    const children: XmlElement[] = [];
    let text = "";
    for (;;) {
      if (at >= source.length) fail(`unclosed <${tag}>`);
      if (source.startsWith("</", at)) {
        at += 2;
        const closing = name();
        if (closing !== tag) fail(`</${closing}> closes <${tag}>`);
        skipSpace();
        expect(">");
        return { name: tag, attributes, children, text };
      }
      if (source.startsWith("<!--", at)) {
        const end = source.indexOf("-->", at);
        if (end < 0) fail("unterminated comment");
        at = end + 3;
        continue;
      }
      if (source[at] === "<") {
        children.push(element());
        continue;
      }
      const next = source.indexOf("<", at);
      const chunk = source.slice(at, next < 0 ? source.length : next);
      if (chunk.includes("]]>")) fail("]]> in text");
      text += resolveEntities(chunk.replace(/\r\n?/g, "\n"), fail);
      at += chunk.length;
    }
  };

  const root = element();
  skipSpace();
  if (at !== source.length) fail("content after the root element");
  return root;
}

const NAMED: Readonly<Record<string, string>> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

function resolveEntities(text: string, fail: (what: string) => never): string {
  return text.replace(/&([^;&\s]*);?/g, (whole, body: string) => {
    if (!whole.endsWith(";")) return fail(`bare & (${JSON.stringify(whole)})`);
    if (body in NAMED) return NAMED[body]!;
    const numeric = /^#(?:x([0-9A-Fa-f]+)|([0-9]+))$/.exec(body);
    if (!numeric) return fail(`unknown entity &${body};`);
    const code = numeric[1] !== undefined ? parseInt(numeric[1], 16) : parseInt(numeric[2]!, 10);
    const char = String.fromCodePoint(code);
    if (!XML_CHAR.test(char)) fail(`character reference &${body}; to a character XML forbids`);
    return char;
  });
}

/** Every element named `name` under (and including) `root`, in document order. */
export function findAll(root: XmlElement, name: string): XmlElement[] {
  return [...(root.name === name ? [root] : []), ...root.children.flatMap((child) => findAll(child, name))];
}
