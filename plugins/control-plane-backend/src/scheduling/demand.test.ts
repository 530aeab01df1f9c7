import { bootstrapManifests } from '../gitops/bootstrap';
import { DesiredState } from '../gitops/DesiredState';
import { demandOf } from './demand';

const desired = DesiredState.create(undefined, bootstrapManifests('simulated'));

describe('demandOf', () => {
  const small = desired.product('mysql')!.spec.sizes.small;

  it.each<[string, string, Record<string, unknown>, number, number]>([
    // A database runs a primary besides its read replicas: storage on each.
    [
      'mysql small, one replica',
      'mysql',
      { size: 'small', replicas: 1, storageGi: 20 },
      2,
      40,
    ],
    [
      'mysql small, no replica',
      'mysql',
      { size: 'small', replicas: 0, storageGi: 20 },
      1,
      20,
    ],
    [
      'mysql small, two replicas',
      'mysql',
      { size: 'small', replicas: 2, storageGi: 50 },
      3,
      150,
    ],
  ])('%s', (_case, product, params, replicas, storageGi) => {
    expect(demandOf(desired, product, params)).toEqual({
      cpu: small.cpu * replicas,
      memoryGi: small.memoryGi * replicas,
      storageGi,
    });
  });

  it('asks half a CPU and a GiB of a product it does not know', () => {
    expect(demandOf(desired, 'oracle', {})).toEqual({
      cpu: 0.5,
      memoryGi: 1,
      storageGi: 0,
    });
  });
});
