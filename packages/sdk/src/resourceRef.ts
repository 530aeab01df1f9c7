/**
 * The namespace and name of a resource ref, as the API's paths take them: `resource:ns/name`,
 * `ns/name`, or a bare `name` (in `default`).
 */
export function splitRef(ref: string): { namespace: string; name: string } {
  const bare = ref.replace(/^resource:/, '');
  const [namespace, name] = bare.includes('/')
    ? bare.split('/', 2)
    : ['default', bare];
  return { namespace, name };
}
