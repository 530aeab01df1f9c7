/**
 * Publishes IDP Multicloud control plane resources as catalog `Resource` entities, so the
 * catalog graph shows what each component depends on.
 *
 * @packageDocumentation
 */

export { catalogModuleControlPlane as default } from './module';
export {
  ControlPlaneEntityProvider,
  RESOURCES_TOPIC,
} from './provider/ControlPlaneEntityProvider';
export { resourceToEntity } from './provider/resourceToEntity';
