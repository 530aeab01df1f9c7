export {
  EntityInfrastructureContent,
  resourceFilterFor,
} from './EntityInfrastructureContent';
