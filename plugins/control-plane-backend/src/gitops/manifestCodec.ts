import {
  keyForPath,
  Manifest,
  manifestKey,
  manifestPath,
  manifestSchema,
  MANIFEST_API_VERSION,
  ObjectKey,
  toValidationIssues,
  ValidationIssue,
} from '@idp-multicloud/plugin-control-plane-common';
import { stringify } from 'yaml';
import { parseYamlDocuments } from './yaml';

/** The string form of an object key: `Kind:namespace/name`. */
export function keyString(key: ObjectKey): string {
  return `${key.kind}:${key.namespace}/${key.name}`;
}

export type ParsedDocument =
  | { ok: true; manifest: Manifest }
  | { ok: false; issues: ValidationIssue[] };

function parseDocuments(text: string, label: (index: number) => string) {
  return parseYamlDocuments(text).map((doc, index): ParsedDocument => {
    const where = label(index);
    if (!doc.ok) {
      return { ok: false, issues: [{ path: where, message: doc.message }] };
    }
    const result = manifestSchema.safeParse(doc.value);
    if (!result.success) {
      return { ok: false, issues: toValidationIssues(result.error, where) };
    }
    return { ok: true, manifest: result.data };
  });
}

/**
 * Parses one file of the state repository. It must hold exactly one manifest, of the kind
 * and name its path says.
 */
export function parseManifestFile(path: string, text: string): ParsedDocument {
  const expected = keyForPath(path);
  if (!expected) {
    return { ok: false, issues: [{ path, message: 'not a manifest path' }] };
  }
  const docs = parseDocuments(text, () => path);
  if (docs.length !== 1) {
    return {
      ok: false,
      issues: [
        {
          path,
          message: `must hold exactly one manifest, holds ${docs.length}`,
        },
      ],
    };
  }
  const [doc] = docs;
  if (!doc.ok) {
    return doc;
  }
  const actual = manifestKey(doc.manifest);
  if (manifestPath(actual) !== manifestPath(expected)) {
    return {
      ok: false,
      issues: [
        {
          path,
          message: `holds ${actual.kind} ${actual.namespace}/${
            actual.name
          }, which belongs in ${manifestPath(actual)}`,
        },
      ],
    };
  }
  return doc;
}

/** Parses a multi-document YAML of manifests (`idp apply -f`), issues labelled by document. */
export function parseManifestStream(text: string): ParsedDocument[] {
  return parseDocuments(text, index => `document ${index + 1}`);
}

/** The YAML of a manifest as the control plane writes it: stable key order, no noise. */
export function serializeManifest(manifest: Manifest): string {
  return stringify(
    {
      apiVersion: MANIFEST_API_VERSION,
      kind: manifest.kind,
      metadata: manifest.metadata,
      spec: manifest.spec,
    },
    { sortMapEntries: false, lineWidth: 0 },
  );
}
