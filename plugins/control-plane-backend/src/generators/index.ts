import { GenerateFormat } from '@idp-multicloud/plugin-control-plane-common';
import { generateCompose } from './compose';
import { generateKcl } from './kcl';
import { generateKubernetes } from './kubernetes';
import { Generator } from './model';
import { generateTerraform } from './terraform';

/** The generator of each format: pure functions from units to files. */
export const generators: Record<GenerateFormat, Generator> = {
  compose: generateCompose,
  kubernetes: generateKubernetes,
  terraform: generateTerraform,
  kcl: generateKcl,
};

export type {
  GenerationInput,
  GenerationOutput,
  GenerationUnit,
} from './model';
export { selectUnits } from './select';
export type { GenerationScope, SelectionSource } from './select';
