export { controlPlanePlugin as default } from './plugin';
