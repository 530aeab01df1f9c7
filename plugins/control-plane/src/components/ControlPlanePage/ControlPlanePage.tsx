import { ResponseErrorPanel } from '@backstage/core-components';
import { useApi } from '@backstage/frontend-plugin-api';
import {
  Alert,
  Card,
  CardBody,
  CardHeader,
  Container,
  Flex,
  Skeleton,
  Text,
} from '@backstage/ui';
import useAsyncRetry from 'react-use/esm/useAsyncRetry';
import { controlPlaneApiRef } from '../../api';
import { SimulatedNotice, useSimulatedProviders } from '../common';

/** The control plane's landing page: is it up, on which database, how migrated. */
export const ControlPlanePage = () => {
  const api = useApi(controlPlaneApiRef);
  const {
    value: health,
    loading,
    error,
  } = useAsyncRetry(() => api.health(), [api]);
  const simulated = useSimulatedProviders();

  return (
    <Container>
      <Card>
        <CardHeader>
          <Text variant="title-small">Control plane health</Text>
        </CardHeader>
        <CardBody>
          {loading && (
            <Flex direction="column" gap="2" aria-label="Loading health">
              <Skeleton width="40%" />
              <Skeleton width="60%" />
            </Flex>
          )}
          {error && (
            <ResponseErrorPanel
              error={error}
              title="The control plane did not answer"
            />
          )}
          {health && (
            <Flex direction="column" gap="3">
              <Alert
                status={health.status === 'ok' ? 'success' : 'warning'}
                icon
                title={
                  health.status === 'ok'
                    ? 'The control plane is up'
                    : 'The control plane is up, but its database is not fully migrated'
                }
              />
              <SimulatedNotice providers={simulated} />
              <Text>
                Database: <strong>{health.database.client}</strong>
              </Text>
              <Text>
                Migrations applied: {health.database.migrations.applied.length}
                {health.database.migrations.pending.length > 0 &&
                  `, pending: ${health.database.migrations.pending.join(', ')}`}
              </Text>
              <ul aria-label="Applied migrations">
                {health.database.migrations.applied.map(name => (
                  <li key={name}>
                    <Text variant="body-small">{name}</Text>
                  </li>
                ))}
              </ul>
            </Flex>
          )}
        </CardBody>
      </Card>
    </Container>
  );
};
