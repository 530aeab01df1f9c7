/** What names an object: enough to read or delete it. */
export interface ObjectRef {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string };
}

/** An object's kind and place, for messages and logs: `MySQLInstance team-a/orders-db`. */
export function describeRef(ref: ObjectRef): string {
  return `${ref.kind} ${ref.metadata.namespace}/${ref.metadata.name}`;
}
