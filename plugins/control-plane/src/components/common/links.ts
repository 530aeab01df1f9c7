import {
  routeResolutionApiRef,
  useApiHolder,
} from '@backstage/frontend-plugin-api';
import {
  rootRouteRef,
  scaffolderRootRouteRef,
  scaffolderTemplateRouteRef,
  selfServiceRouteRef,
} from '../../routes';

/**
 * Resolves a route of the app, or `undefined` when it cannot (unbound, or an app on the old
 * frontend system, which has no route resolution API).
 */
function useResolver() {
  const resolver = useApiHolder().get(routeResolutionApiRef);
  return <T>(resolve: (r: NonNullable<typeof resolver>) => T | undefined) => {
    try {
      return resolver ? resolve(resolver) : undefined;
    } catch {
      return undefined;
    }
  };
}

/** Where the Control Plane (health) page lives; its default path when it cannot be resolved. */
export function useControlPlaneLink(): string {
  const resolve = useResolver();
  return resolve(r => r.resolve(rootRouteRef)?.()) ?? '/control-plane';
}

/** Where the self-service catalog lives; its default path when the route cannot be resolved. */
export function useSelfServiceLink(): string {
  const resolve = useResolver();
  return (
    resolve(r => r.resolve(selfServiceRouteRef)?.()) ??
    '/control-plane/self-service'
  );
}

/**
 * Links to the scaffolder: its list of templates, and the page of one template (prefilled
 * with `formData` when given). They follow the app's binding of the scaffolder's routes, and
 * fall back to the scaffolder's documented paths (`/create`, `/create/templates/<ns>/<name>`).
 */
export function useScaffolderLinks() {
  const resolve = useResolver();
  const root = resolve(r => r.resolve(scaffolderRootRouteRef)?.()) ?? '/create';
  const template = (
    ref: { namespace: string; name: string },
    formData?: Record<string, unknown>,
  ) => {
    const path =
      resolve(r =>
        r.resolve(scaffolderTemplateRouteRef)?.({
          namespace: ref.namespace,
          templateName: ref.name,
        }),
      ) ??
      `/create/templates/${encodeURIComponent(
        ref.namespace,
      )}/${encodeURIComponent(ref.name)}`;
    return formData && Object.keys(formData).length > 0
      ? `${path}?formData=${encodeURIComponent(JSON.stringify(formData))}`
      : path;
  };
  return { root, template };
}
