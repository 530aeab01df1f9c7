import { useApi } from '@backstage/frontend-plugin-api';
import { Flex, Text } from '@backstage/ui';
import useAsync from 'react-use/esm/useAsync';
import { controlPlaneApiRef } from '../../api';
import { QuotaUsage } from '../../types';
import { AsyncView, formatMoney, UsageMeter } from '../common';

export interface QuotaScopes {
  teams: string[];
  cells: string[];
  namespaces: string[];
}

export function relevantQuotas(items: QuotaUsage[], scopes: QuotaScopes) {
  return items.filter(q => {
    switch (q.scope.kind) {
      case 'team':
        return scopes.teams.includes(q.scope.name);
      case 'cell':
        return scopes.cells.includes(q.scope.name);
      case 'namespace':
        return scopes.namespaces.includes(q.scope.name);
      default:
        return false;
    }
  });
}

/** The quotas that apply to the entity's resources (their team, cells and namespaces). */
export const QuotaUsageView = (props: { scopes: QuotaScopes }) => {
  const api = useApi(controlPlaneApiRef);
  const { value, loading, error } = useAsync(() => api.quotaUsage(), [api]);
  const relevant = value && relevantQuotas(value, props.scopes);
  return (
    <AsyncView
      what="quota usage"
      loading={loading}
      error={error}
      value={relevant}
      isEmpty={v => v.length === 0}
      empty={{
        title: 'No quotas apply',
        description:
          value === undefined
            ? 'This control plane does not report quota usage yet.'
            : 'No quota limits these resources. Platform engineers set quotas per team, cell or namespace in the state repository.',
      }}
    >
      {quotas => (
        <Flex direction="column" gap="3">
          {quotas.map(q => (
            <Flex direction="column" gap="1" key={q.id}>
              <Text as="h4" variant="body-medium" weight="bold">
                {q.scope.kind} {q.scope.name}
              </Text>
              <UsageMeter
                label={`Instances (${q.id})`}
                used={q.usage.instances}
                limit={q.limits.maxInstances}
              />
              <UsageMeter
                label={`Storage (${q.id})`}
                used={q.usage.storageGi}
                limit={q.limits.maxStorageGi}
                format={n => `${n} GiB`}
              />
              <UsageMeter
                label={`Monthly cost (${q.id})`}
                used={q.usage.monthlyCost}
                limit={q.limits.maxMonthlyCost}
                format={n => formatMoney(n)}
              />
            </Flex>
          ))}
        </Flex>
      )}
    </AsyncView>
  );
};
