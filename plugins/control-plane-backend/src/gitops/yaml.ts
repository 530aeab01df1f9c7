import {
  Document,
  isAlias,
  isCollection,
  isPair,
  parseAllDocuments,
} from 'yaml';

/**
 * Limits on YAML the control plane reads from outside (the state repository, request bodies,
 * price files). They bound the work of parsing: a text over `maxBytes` is not parsed, a
 * document nested deeper than `maxDepth` or with more than `maxAliases` aliases (an alias
 * bomb expands a few lines into gigabytes) is refused before it is turned into values.
 */
export interface YamlLimits {
  maxBytes: number;
  maxDepth: number;
  maxAliases: number;
}

/** The limits of one manifest file or request body: far above any real manifest. */
export const DEFAULT_YAML_LIMITS: YamlLimits = {
  maxBytes: 1024 * 1024,
  maxDepth: 64,
  maxAliases: 100,
};

/** One document of a YAML text: its value, or why it could not be read. */
export type YamlDocument =
  | { ok: true; value: unknown }
  | { ok: false; message: string };

/** Depth and alias count of a parsed document, walked without recursion. */
function measure(doc: Document): { depth: number; aliases: number } {
  let depth = 0;
  let aliases = 0;
  const stack: { node: unknown; depth: number }[] = [
    { node: doc.contents, depth: 0 },
  ];
  while (stack.length > 0) {
    const { node, depth: at } = stack.pop()!;
    if (isAlias(node)) {
      aliases += 1;
    } else if (isPair(node)) {
      stack.push(
        { node: node.key, depth: at },
        { node: node.value, depth: at },
      );
    } else if (isCollection(node)) {
      depth = Math.max(depth, at + 1);
      for (const item of node.items) stack.push({ node: item, depth: at + 1 });
    }
  }
  return { depth, aliases };
}

/** Bytes of a string as UTF-8. */
function byteLength(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/**
 * Parses every document of a YAML text within `limits`. Never throws: a text too large, a
 * syntax error, a document too deep or with too many aliases, and anything the parser itself
 * throws are reported as documents that are not ok (a text over the size limit as one).
 */
export function parseYamlDocuments(
  text: string,
  limits: YamlLimits = DEFAULT_YAML_LIMITS,
): YamlDocument[] {
  const bytes = byteLength(text);
  if (bytes > limits.maxBytes) {
    return [
      {
        ok: false,
        message: `too large: ${bytes} bytes, at most ${limits.maxBytes}`,
      },
    ];
  }
  let docs: Document.Parsed[];
  try {
    docs = parseAllDocuments(text, {
      prettyErrors: false,
    }) as Document.Parsed[];
    if (!Array.isArray(docs)) docs = [docs];
  } catch (error) {
    return [{ ok: false, message: `invalid YAML: ${messageOf(error)}` }];
  }
  return docs
    .filter(doc => doc.contents !== null || doc.errors.length > 0)
    .map((doc): YamlDocument => {
      if (doc.errors.length > 0) {
        return {
          ok: false,
          message: `invalid YAML: ${doc.errors.map(e => e.message).join('; ')}`,
        };
      }
      try {
        const { depth, aliases } = measure(doc);
        if (depth > limits.maxDepth) {
          return {
            ok: false,
            message: `nested too deep: more than ${limits.maxDepth} levels`,
          };
        }
        if (aliases > limits.maxAliases) {
          return {
            ok: false,
            message: `too many aliases: ${aliases}, at most ${limits.maxAliases}`,
          };
        }
        return {
          ok: true,
          value: doc.toJS({ maxAliasCount: limits.maxAliases }),
        };
      } catch (error) {
        // The parser's own guard (an alias expanding past its budget) or a stack overflow.
        return { ok: false, message: `invalid YAML: ${messageOf(error)}` };
      }
    });
}

/**
 * Parses a YAML text that holds one document (a config or price file) within `limits`;
 * throws an Error naming `label` when it cannot.
 */
export function parseYamlFile(
  text: string,
  label: string,
  limits: YamlLimits = DEFAULT_YAML_LIMITS,
): unknown {
  const docs = parseYamlDocuments(text, limits);
  if (docs.length === 0) return null;
  if (docs.length > 1) {
    throw new Error(`${label}: holds ${docs.length} YAML documents, not one`);
  }
  const [doc] = docs;
  if (!doc.ok) throw new Error(`${label}: ${doc.message}`);
  return doc.value;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
