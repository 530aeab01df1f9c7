import { useRouteRef } from '@backstage/frontend-plugin-api';
import { selfServiceRouteRef } from '../../routes';

/** Where the self-service catalog lives; its default path when the route is not mounted. */
export function useSelfServiceLink(): string {
  let link: string | undefined;
  try {
    link = useRouteRef(selfServiceRouteRef)?.();
  } catch {
    link = undefined;
  }
  return link ?? '/control-plane/self-service';
}
