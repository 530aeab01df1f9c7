import { InputError } from '@backstage/errors';
import { parseTrafficRouting, routeRequest } from './traffic';

describe('parseTrafficRouting', () => {
  const target = { cells: ['cell-us', 'cell-eu'] };

  it('normalises a routing: header names lower-case, empty lists gone', () => {
    expect(
      parseTrafficRouting(
        {
          stable: '1.0.0',
          canary: '1.1.0',
          canaryWeight: 5,
          headerMatches: [{ name: 'X-Canary', value: 'true' }],
          cells: [],
        },
        target,
      ),
    ).toEqual({
      stable: '1.0.0',
      canary: '1.1.0',
      canaryWeight: 5,
      headerMatches: [{ name: 'x-canary', value: 'true' }],
    });
  });

  it.each`
    routing                                                                                                                               | message
    ${{ stable: '1', canary: '2', canaryWeight: 101 }}                                                                                    | ${/canaryWeight: Too big/}
    ${{ stable: '1', canary: '2', canaryWeight: 2.5 }}                                                                                    | ${/canaryWeight: .*expected int/}
    ${{ stable: '1', canaryWeight: 5 }}                                                                                                   | ${/canary: name the canary version/}
    ${{ stable: '1', canaryWeight: 0, headerMatches: [{ name: 'x-canary', value: 'true' }] }}                                             | ${/canary: name the canary version/}
    ${{ stable: '1', canary: '1', canaryWeight: 5 }}                                                                                      | ${/must differ from the stable version \(both 1\)/}
    ${{ stable: '1', canary: '2', canaryWeight: 5, headerMatches: [{ name: 'x canary', value: 'true' }] }}                                | ${/headerMatches.0.name: not an HTTP header name/}
    ${{ stable: '1', canary: '2', canaryWeight: 5, cells: [{ cell: 'cell-us', canaryWeight: 5 }, { cell: 'cell-us', canaryWeight: 9 }] }} | ${/cell cell-us is listed twice/}
    ${{ stable: '1', canary: '2', canaryWeight: 5, cells: [{ cell: 'cell-ap', canaryWeight: 5 }] }}                                       | ${/cell-ap not among the resource's cells \(cell-us, cell-eu\)/}
    ${{ stable: '1', canaryWeight: 0, extra: true }}                                                                                      | ${/Unrecognized key/}
  `('refuses $routing', ({ routing, message }) => {
    expect(() => parseTrafficRouting(routing, target)).toThrow(InputError);
    expect(() => parseTrafficRouting(routing, target)).toThrow(message);
  });
});

describe('routeRequest', () => {
  const routing = parseTrafficRouting({
    stable: '1.0.0',
    canary: '1.1.0',
    canaryWeight: 25,
    headerMatches: [{ name: 'x-canary', value: 'true' }],
    cells: [{ cell: 'cell-eu', canaryWeight: 0 }],
  });

  it.each`
    request                                                 | draw    | version
    ${{}}                                                   | ${0.1}  | ${'1.1.0'}
    ${{}}                                                   | ${0.25} | ${'1.0.0'}
    ${{ headers: { 'X-Canary': 'true' } }}                  | ${0.99} | ${'1.1.0'}
    ${{ headers: { 'x-canary': 'false' } }}                 | ${0.99} | ${'1.0.0'}
    ${{ cell: 'cell-eu' }}                                  | ${0}    | ${'1.0.0'}
    ${{ cell: 'cell-eu', headers: { 'x-canary': 'true' } }} | ${0.5}  | ${'1.1.0'}
    ${{ cell: 'cell-us' }}                                  | ${0.2}  | ${'1.1.0'}
  `('sends $request (draw $draw) to $version', ({ request, draw, version }) => {
    expect(routeRequest(routing, request, draw)).toBe(version);
  });

  it('sends everything to the stable version when there is no canary', () => {
    expect(routeRequest({ stable: '1', canaryWeight: 0 }, {}, 0)).toBe('1');
  });
});
