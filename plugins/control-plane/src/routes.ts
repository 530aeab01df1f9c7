import {
  createExternalRouteRef,
  createRouteRef,
} from '@backstage/frontend-plugin-api';

export const rootRouteRef = createRouteRef();
export const selfServiceRouteRef = createRouteRef();
export const fleetRouteRef = createRouteRef();
export const auditRouteRef = createRouteRef();
export const definitionChangesRouteRef = createRouteRef();

/** The scaffolder's page of one template; bound to the scaffolder plugin's by default. */
export const scaffolderTemplateRouteRef = createExternalRouteRef({
  params: ['namespace', 'templateName'],
  defaultTarget: 'scaffolder.selectedTemplate',
});

/** The scaffolder's list of templates; bound to the scaffolder plugin's by default. */
export const scaffolderRootRouteRef = createExternalRouteRef({
  defaultTarget: 'scaffolder.root',
});
