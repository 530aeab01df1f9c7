export { ControlPlanePage } from './ControlPlanePage';
