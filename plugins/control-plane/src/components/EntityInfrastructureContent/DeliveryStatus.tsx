import { useApi } from '@backstage/frontend-plugin-api';
import { Text } from '@backstage/ui';
import useAsync from 'react-use/esm/useAsync';
import { controlPlaneApiRef } from '../../api';

const tools: Record<string, string> = { argocd: 'Argo CD', flux: 'Flux' };

/**
 * What the GitOps tool delivering a resource's cluster reports (Argo CD's sync and health, or
 * Flux's Ready), when one does: a resource out of sync there is not READY.
 */
export const DeliveryStatus = (props: {
  resourceRef: string;
  tick: number;
}) => {
  const api = useApi(controlPlaneApiRef);
  const { value } = useAsync(
    () => api.resource(props.resourceRef),
    [api, props.resourceRef, props.tick],
  );
  const delivery = value?.status.delivery;
  if (!delivery) return null;
  const tool = Object.hasOwn(tools, delivery.tool)
    ? tools[delivery.tool]
    : delivery.tool;
  return (
    <Text
      variant="body-small"
      color={delivery.inSync ? 'secondary' : 'danger'}
      aria-label={`Delivery: ${tool}`}
    >
      {tool} {delivery.application}: {delivery.sync}, {delivery.health}
      {delivery.held ? ' (auto-sync held by a rollout)' : ''}
      {delivery.message ? ` · ${delivery.message}` : ''}
    </Text>
  );
};
