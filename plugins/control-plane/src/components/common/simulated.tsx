import { useApi } from '@backstage/frontend-plugin-api';
import { Alert } from '@backstage/ui';
import useAsync from 'react-use/esm/useAsync';
import { controlPlaneApiRef } from '../../api';

/** The driver of `@idp-multicloud/plugin-control-plane-backend-module-simulator`. */
const SIMULATED_DRIVER = 'simulated';

/** Whether a provider is played by the simulator rather than a real cloud. */
export const isSimulated = (provider: { driver: string }) =>
  provider.driver === SIMULATED_DRIVER;

const list = (ids: string[]) =>
  ids.length < 2
    ? ids.join('')
    : `${ids.slice(0, -1).join(', ')} and ${ids[ids.length - 1]}`;

/** The ids of the providers played by the simulator. */
export const simulatedIds = (
  providers: Array<{ id: string; driver: string }>,
) => new Set(providers.filter(isSimulated).map(p => p.id));

/** Says plainly that the named providers are simulated; nothing when none is. */
export const SimulatedNotice = (props: { providers?: Set<string> }) => {
  const ids = [...(props.providers ?? [])].sort();
  if (ids.length === 0) return null;
  return (
    <div role="note" aria-label="Simulated providers">
      <Alert
        status="warning"
        icon
        title={`${list(ids)} ${ids.length === 1 ? 'is' : 'are'} simulated`}
        description={`The simulated driver, a simulator inside this control plane, plays ${
          ids.length === 1 ? 'this provider' : 'these providers'
        }: their clusters, health and latencies, and every resource placed on them, are simulated. Nothing is provisioned in a real cloud. A provider becomes real when its driver is a real one (e.g. kubernetes).`}
      />
    </div>
  );
};

/**
 * The providers played by the simulator, from the fleet; `undefined` while loading or when
 * the user may not read the fleet.
 */
export function useSimulatedProviders(): Set<string> | undefined {
  const api = useApi(controlPlaneApiRef);
  const { value } = useAsync(async () => {
    try {
      return simulatedIds(await api.providers());
    } catch {
      return undefined;
    }
  }, [api]);
  return value;
}
