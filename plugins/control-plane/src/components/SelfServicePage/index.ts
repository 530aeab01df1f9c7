export { SelfServicePage, defaultProductTemplates } from './SelfServicePage';
