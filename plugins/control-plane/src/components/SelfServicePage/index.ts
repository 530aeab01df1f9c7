export { SelfServicePage } from './SelfServicePage';
