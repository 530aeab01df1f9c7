export { DefinitionChangesPage } from './DefinitionChangesPage';
