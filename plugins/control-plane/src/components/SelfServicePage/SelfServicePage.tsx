import { useApi } from '@backstage/frontend-plugin-api';
import { ButtonLink, Container, Flex, Grid, Link, Text } from '@backstage/ui';
import { Schemas } from '@idp-multicloud/sdk';
import { useState } from 'react';
import useAsync from 'react-use/esm/useAsync';
import { controlPlaneApiRef } from '../../api';
import { AsyncView, DataTable, formatMoney, percent, Section } from '../common';

/**
 * The golden-path template that requests each product (`templates/` in this repository).
 * @public
 */
export const defaultProductTemplates: Record<string, string> = {
  mysql: 'new-mysql-database',
  redis: 'request-redis-cache',
  webapp: 'new-web-service-with-mysql-and-redis',
};

type Product = Schemas['Product'];
type Tier = Schemas['Tier'];

interface ParameterRow {
  name: string;
  type: string;
  required: boolean;
  default?: unknown;
  description?: string;
}

export function parametersOf(product: Product): ParameterRow[] {
  const schema = product.parameters as {
    properties?: Record<
      string,
      {
        type?: string | string[];
        default?: unknown;
        description?: string;
        enum?: unknown[];
      }
    >;
    required?: string[];
  };
  return Object.entries(schema.properties ?? {}).map(([name, p]) => ({
    name,
    type: p.enum
      ? p.enum.map(String).join(' | ')
      : [p.type ?? 'any'].flat().join(' | '),
    required: (schema.required ?? []).includes(name),
    default: p.default,
    description: p.description,
  }));
}

const features = (tier: Tier) =>
  Object.entries(tier.requiredFeatures)
    .filter(([, on]) => on)
    .map(([f]) => f)
    .join(', ') || 'none';

const TierTable = (props: { tiers: Tier[] }) => (
  <DataTable
    caption="Tiers and what they guarantee"
    rows={props.tiers}
    rowKey={t => t.id}
    rowLabel={t => t.id}
    columns={[
      { title: 'Tier', render: t => <strong>{t.id}</strong> },
      { title: 'What it is for', render: t => t.description },
      { title: 'Availability', render: t => `${t.sla.availability}%` },
      { title: 'p99 latency', render: t => `${t.sla.p99LatencyMs} ms` },
      { title: 'RTO', render: t => `${t.sla.rtoMinutes} min` },
      { title: 'RPO', render: t => `${t.sla.rpoMinutes} min` },
      { title: 'Required features', render: features },
      {
        title: 'Placement',
        render: t =>
          `provider health ≥ ${percent(t.placement.minProviderHealth)}${
            t.placement.requireMultiAZ ? ', multi-AZ' : ''
          }`,
      },
    ]}
  />
);

const PriceEstimate = (props: { product: string; tier: string }) => {
  const api = useApi(controlPlaneApiRef);
  const { value, loading, error } = useAsync(
    () => api.estimateCost({ product: props.product, tier: props.tier }),
    [api, props.product, props.tier],
  );
  return (
    <AsyncView
      what="the price estimate"
      loading={loading}
      error={error}
      value={value}
      empty={{
        title: 'No price estimate',
        description:
          'This control plane does not estimate prices yet; the cost shows on the resource once it runs.',
      }}
    >
      {e => (
        <Flex direction="column" gap="1">
          <Text as="p">
            From{' '}
            <strong>{formatMoney(e.cheapest.monthlyCost, e.currency)}</strong> a
            month on {e.cheapest.provider} ({e.tier}, {e.cell})
          </Text>
          <ul aria-label={`Price estimates for ${props.product}`}>
            {e.estimates.map(x => (
              <li key={x.provider}>
                <Text variant="body-small">
                  {x.provider}: {formatMoney(x.monthlyCost, e.currency)} / month
                </Text>
              </li>
            ))}
          </ul>
        </Flex>
      )}
    </AsyncView>
  );
};

const ProductCard = (props: {
  product: Product;
  templates: Record<string, string>;
}) => {
  const { product } = props;
  const [tier, setTier] = useState<string>(product.tiers[0] ?? '');
  const params = parametersOf(product);
  const template = props.templates[product.id];
  return (
    <Section title={product.title} level={3}>
      <Flex direction="column" gap="3">
        <Text as="p">{product.description}</Text>
        <Text as="p" variant="body-small" color="secondary">
          {product.category} · tiers {product.tiers.join(', ')}
          {product.operations.length > 0 &&
            ` · operations ${product.operations.join(', ')}`}
        </Text>
        {params.length > 0 ? (
          <DataTable
            caption={`Parameters of ${product.title}`}
            rows={params}
            rowKey={p => p.name}
            columns={[
              {
                title: 'Parameter',
                render: p => (
                  <code>
                    {p.name}
                    {p.required ? ' *' : ''}
                  </code>
                ),
              },
              { title: 'Type', render: p => p.type },
              {
                title: 'Default',
                render: p =>
                  p.default === undefined ? '—' : JSON.stringify(p.default),
              },
              { title: 'Description', render: p => p.description ?? '' },
            ]}
          />
        ) : (
          <Text variant="body-small">No parameters.</Text>
        )}
        {product.tiers.length > 0 && (
          <label>
            <Text variant="body-small">Tier for the estimate </Text>
            <select value={tier} onChange={e => setTier(e.target.value)}>
              {product.tiers.map(t => (
                <option key={t} value={t}>
                  {t}
                </option>
              ))}
            </select>
          </label>
        )}
        <PriceEstimate product={product.id} tier={tier} />
        {template ? (
          <ButtonLink
            variant="primary"
            href={`/create/templates/default/${template}`}
            aria-label={`Request ${product.title}`}
          >
            Request
          </ButtonLink>
        ) : (
          <Text variant="body-small">
            No golden-path template requests {product.title} yet.{' '}
            <Link href="/create">Browse all templates</Link> or use the{' '}
            <code>idp</code> CLI.
          </Text>
        )}
      </Flex>
    </Section>
  );
};

/** The self-service catalog: what can be requested, at which tier, for how much. */
export const SelfServicePage = (props: {
  templates?: Record<string, string>;
}) => {
  const api = useApi(controlPlaneApiRef);
  const products = useAsync(() => api.products(), [api]);
  const tiers = useAsync(() => api.tiers(), [api]);
  const templates = props.templates ?? defaultProductTemplates;
  return (
    <Container>
      <Flex direction="column" gap="4">
        <Section title="Tiers">
          <AsyncView
            what="tiers"
            loading={tiers.loading}
            error={tiers.error}
            value={tiers.value}
            isEmpty={v => v.length === 0}
            empty={{
              title: 'No tiers defined',
              description:
                'Tiers come from policies/ in the state repository. Ask your platform team to define critical, high, medium and low.',
            }}
          >
            {v => <TierTable tiers={v} />}
          </AsyncView>
        </Section>
        <Section title="Products">
          <AsyncView
            what="products"
            loading={products.loading}
            error={products.error}
            value={products.value}
            isEmpty={v => v.length === 0}
            empty={{
              title: 'Nothing to request yet',
              description:
                'Products are declared in products/ of the state repository or registered by backend modules. Ask your platform team to add one.',
            }}
          >
            {v => (
              <Grid.Root columns={{ initial: '1', md: '2' }} gap="4">
                {v.map(p => (
                  <ProductCard key={p.id} product={p} templates={templates} />
                ))}
              </Grid.Root>
            )}
          </AsyncView>
        </Section>
      </Flex>
    </Container>
  );
};
