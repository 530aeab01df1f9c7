import {
  routeResolutionApiRef,
  useApiHolder,
} from '@backstage/frontend-plugin-api';
import { selfServiceRouteRef } from '../../routes';

/**
 * Where the self-service catalog lives; its default path when the route cannot be resolved
 * (e.g. in an app on the old frontend system, which has no route resolution API).
 */
export function useSelfServiceLink(): string {
  const resolver = useApiHolder().get(routeResolutionApiRef);
  let link: string | undefined;
  try {
    link = resolver?.resolve(selfServiceRouteRef)?.();
  } catch {
    link = undefined;
  }
  return link ?? '/control-plane/self-service';
}
