import { closestName, editDistance } from './unknownCommand';

const commands = [
  'apply',
  'audit',
  'create',
  'delete',
  'events',
  'get',
  'health',
  'list',
  'login',
  'logout',
  'ops',
  'reconcile',
  'status',
];

describe('the closest known command', () => {
  it.each([
    ['creat', 'create'],
    ['craete', 'create'],
    ['lst', 'list'],
    ['rec', 'reconcile'],
    ['statsu', 'status'],
    ['Delete', 'delete'],
    ['log', 'login'],
    ['evnets', 'events'],
  ])('for %s is %s', (typed, closest) => {
    expect(closestName(typed, commands)).toBe(closest);
  });

  it('is none when nothing is known', () => {
    expect(closestName('create', [])).toBeUndefined();
  });
});

describe('editDistance', () => {
  it.each([
    ['create', 'create', 0],
    ['creat', 'create', 1],
    ['craete', 'create', 1],
    ['scale', 'scal', 1],
    ['', 'ops', 3],
    ['kitten', 'sitting', 3],
  ])('from %s to %s is %d', (a, b, distance) => {
    expect(editDistance(a, b)).toBe(distance);
    expect(editDistance(b, a)).toBe(distance);
  });
});
