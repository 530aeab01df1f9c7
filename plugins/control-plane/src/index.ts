/**
 * The IDP Multicloud control plane frontend plugin: the "Infrastructure" entity tab, the
 * self-service catalog, the fleet and audit pages. The default export is the plugin for the
 * new frontend system; the `*Page`/`EntityControlPlaneContent` exports and
 * `controlPlaneLegacyPlugin` serve instances still on the old one.
 *
 * @packageDocumentation
 */

export { controlPlanePlugin as default } from './plugin';
export {
  controlPlaneApi,
  controlPlanePage,
  controlPlaneSelfServicePage,
  controlPlaneFleetPage,
  controlPlaneAuditPage,
  controlPlaneDefinitionChangesPage,
  entityControlPlaneResourcesContent,
} from './plugin';
export { controlPlaneApiRef, ControlPlaneClient } from './api';
export type { ControlPlaneApi, ResourceFilter } from './api';
export type * from './types';
export {
  controlPlaneLegacyPlugin,
  ControlPlaneHealthPage,
  ControlPlaneSelfServicePage,
  ControlPlaneFleetPage,
  ControlPlaneAuditPage,
  ControlPlaneDefinitionChangesPage,
  EntityControlPlaneContent,
} from './legacy';
export { ANNOTATION_TEMPLATE_PRODUCTS } from './components/SelfServicePage/productTemplates';
