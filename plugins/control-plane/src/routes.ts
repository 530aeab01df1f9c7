import { createRouteRef } from '@backstage/frontend-plugin-api';

export const rootRouteRef = createRouteRef();
export const selfServiceRouteRef = createRouteRef();
export const fleetRouteRef = createRouteRef();
export const auditRouteRef = createRouteRef();
