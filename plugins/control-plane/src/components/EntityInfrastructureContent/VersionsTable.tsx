import { useApi } from '@backstage/frontend-plugin-api';
import { Text } from '@backstage/ui';
import useAsync from 'react-use/esm/useAsync';
import { controlPlaneApiRef } from '../../api';
import { AsyncView, DataTable } from '../common';

/**
 * Which version of a component runs where: each of its resources with its cell, provider,
 * cluster and version, and the deployment in progress if any (`GET /versions`).
 */
export const VersionsTable = (props: { component: string; tick: number }) => {
  const api = useApi(controlPlaneApiRef);
  const { value, loading, error } = useAsync(
    () => api.versions({ component: props.component }),
    [api, props.component, props.tick],
  );
  return (
    <AsyncView
      what="the versions"
      loading={loading}
      error={error}
      value={value}
      isEmpty={v => v.length === 0}
      empty={{
        title: 'No version runs yet',
        description: `Once a resource of ${props.component} runs, its version appears here, cell by cell.`,
      }}
    >
      {items => (
        <DataTable
          caption="Versions"
          rows={items}
          rowKey={v => v.resourceRef}
          rowLabel={v => v.resourceRef.replace(/^resource:(default\/)?/, '')}
          columns={[
            {
              title: 'Resource',
              render: v => v.resourceRef.replace(/^resource:(default\/)?/, ''),
            },
            { title: 'Product', render: v => v.product },
            { title: 'Cell', render: v => v.cell },
            { title: 'Provider', render: v => v.provider ?? '—' },
            { title: 'Cluster', render: v => v.cluster ?? '—' },
            { title: 'Version', render: v => v.version ?? '—' },
            {
              title: 'Deployment in progress',
              render: v =>
                v.deploying ? (
                  <Text variant="body-small">
                    → {v.deploying.toVersion} at {v.deploying.canaryWeight} %
                  </Text>
                ) : (
                  'none'
                ),
            },
          ]}
        />
      )}
    </AsyncView>
  );
};
