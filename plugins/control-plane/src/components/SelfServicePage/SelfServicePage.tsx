import { useApi } from '@backstage/frontend-plugin-api';
import { ButtonLink, Container, Flex, Grid, Link, Text } from '@backstage/ui';
import { Schemas } from '@idp-multicloud/sdk';
import { useMemo, useState } from 'react';
import useAsync from 'react-use/esm/useAsync';
import { controlPlaneApiRef } from '../../api';
import {
  AsyncView,
  DataTable,
  formatMoney,
  percent,
  Section,
  useScaffolderLinks,
} from '../common';
import { byCriticality } from '../common/tiers';
import {
  ANNOTATION_TEMPLATE_PRODUCTS,
  prefill,
  templatesFor,
  useProductTemplates,
} from './productTemplates';

type Product = Schemas['Product'];
type Tier = Schemas['Tier'];
type TierId = Tier['id'];
type EffectiveDefinition = Schemas['EffectiveDefinition'];
type DefinitionOrigin = Schemas['DefinitionOrigin'];

/** Where a field came from, in a few words. */
export function describeOrigin(origin: DefinitionOrigin): string {
  return origin.from === 'global'
    ? `global ${origin.product}`
    : `project ${origin.project} (${origin.path})`;
}

/**
 * Where each parameter's decisive fields came from: the project's file when any of them
 * (default, allowed values, bounds) did, else the global product.
 */
export function parameterOrigins(
  definition: EffectiveDefinition,
): Map<string, DefinitionOrigin> {
  const origins = new Map<string, DefinitionOrigin>();
  for (const field of definition.fields) {
    const name = field.path.match(/^parameters\.([^.]+)\./)?.[1];
    if (!name) continue;
    const known = origins.get(name);
    if (
      !known ||
      (known.from === 'global' && field.origin.from === 'project')
    ) {
      origins.set(name, field.origin);
    }
  }
  return origins;
}

interface ParameterRow {
  name: string;
  type: string;
  required: boolean;
  default?: unknown;
  /** A value that fits: its default, else its first example, constant or allowed value. */
  sample?: unknown;
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
        const?: unknown;
        examples?: unknown[];
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
    sample: [p.default, p.examples?.[0], p.const, p.enum?.[0]].find(
      v => v !== undefined,
    ),
    description: p.description,
  }));
}

/**
 * The parameters a price estimate of the product is asked with: each required one, at its
 * default or an example value of the product's schema (the others take their defaults on
 * the server). `undefined` when it requires none.
 */
export function estimateParams(
  product: Product,
): Record<string, unknown> | undefined {
  const required = parametersOf(product).filter(
    p => p.required && p.sample !== undefined,
  );
  return required.length
    ? Object.fromEntries(required.map(p => [p.name, p.sample]))
    : undefined;
}

const features = (tier: Tier) =>
  Object.entries(tier.requiredFeatures)
    .filter(([, on]) => on)
    .map(([f]) => f)
    .join(', ') || 'none';

const TierTable = (props: { tiers: Tier[] }) => (
  <DataTable
    caption="Tiers and what they guarantee"
    rows={byCriticality(props.tiers, t => t.id)}
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

const PriceEstimate = (props: { product: Product; tier?: TierId }) => {
  const api = useApi(controlPlaneApiRef);
  const { product, tier } = props;
  const params = useMemo(() => estimateParams(product), [product]);
  const { value, loading, error } = useAsync(
    () =>
      api.estimateCost({
        product: product.id,
        tier,
        ...(params ? { params } : {}),
      }),
    [api, product.id, tier, params],
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
      {e => {
        const where = e.cell ? `in ${e.cell}` : 'in any cell';
        if (!e.cheapest) {
          return (
            <Text as="p" variant="body-small">
              No provider {where} can run {product.title} at tier {e.tier}, so
              there is no price. Choose another tier, or ask your platform team
              which cells offer it.
            </Text>
          );
        }
        return (
          <Flex direction="column" gap="1">
            <Text as="p">
              From{' '}
              <strong>{formatMoney(e.cheapest.monthlyCost, e.currency)}</strong>{' '}
              a month on {e.cheapest.provider} (tier {e.tier}, {where})
            </Text>
            <ul aria-label={`Price estimates for ${product.id}`}>
              {e.estimates.map(x => (
                <li key={x.provider}>
                  <Text variant="body-small">
                    {x.provider}: {formatMoney(x.monthlyCost, e.currency)} /
                    month
                  </Text>
                </li>
              ))}
            </ul>
            {params && (
              <Text variant="body-small" color="secondary">
                Priced with{' '}
                {Object.entries(params)
                  .map(([k, v]) => `${k} ${JSON.stringify(v)}`)
                  .join(', ')}
                .
              </Text>
            )}
          </Flex>
        );
      }}
    </AsyncView>
  );
};

/** "Request": the templates of the catalog that provision the product, prefilled. */
const RequestLinks = (props: {
  product: Product;
  tier?: TierId;
  templates: ReturnType<typeof useProductTemplates>;
}) => {
  const { product, tier, templates } = props;
  const links = useScaffolderLinks();
  if (templates.loading) {
    return (
      <Text variant="body-small" color="secondary">
        Looking for the templates that request {product.title}…
      </Text>
    );
  }
  if (templates.error) {
    return (
      <Text variant="body-small">
        Could not look up the templates that request {product.title}:{' '}
        {templates.error.message}.{' '}
        <Link href={links.root}>Browse all templates</Link>.
      </Text>
    );
  }
  const [best, ...others] = templatesFor(product.id, templates.value ?? []);
  if (!best) {
    return (
      <Text variant="body-small">
        No golden-path template requests {product.title} yet. A platform
        engineer can add one: a software template annotated{' '}
        <code>
          {ANNOTATION_TEMPLATE_PRODUCTS}: {product.id}
        </code>
        . Until then, <Link href={links.root}>browse all templates</Link> or use
        the <code>idp</code> CLI (<code>idp create {product.id}</code>).
      </Text>
    );
  }
  const bestValues = prefill(best, tier);
  return (
    <Flex direction="column" gap="2">
      <ButtonLink
        variant="primary"
        href={links.template(best, bestValues)}
        aria-label={`Request ${product.title}`}
      >
        Request
      </ButtonLink>
      <Text variant="body-small" color="secondary">
        Opens the template “{best.title}”{bestValues ? ` at tier ${tier}` : ''}.
        {others.length > 0 && (
          <>
            {' '}
            Also requested by:{' '}
            {others.map((t, i) => (
              <span key={`${t.namespace}/${t.name}`}>
                {i > 0 && ', '}
                <Link href={links.template(t, prefill(t, tier))}>
                  {t.title}
                </Link>
              </span>
            ))}
            .
          </>
        )}
      </Text>
    </Flex>
  );
};

const ProductCard = (props: {
  product: Product;
  templates: ReturnType<typeof useProductTemplates>;
  /** The project (namespace) whose definition of the product to show. */
  project?: string;
}) => {
  const api = useApi(controlPlaneApiRef);
  const { project } = props;
  const effective = useAsync(
    async () =>
      project ? api.projectProduct(project, props.product.id) : undefined,
    [api, project, props.product.id],
  );
  // A project with a definition of its own sees that; others, the global product.
  const definition =
    effective.value && effective.value.chain.length > 1
      ? effective.value
      : undefined;
  const product: Product = definition
    ? { ...props.product, ...definition.spec }
    : props.product;
  const origins = definition ? parameterOrigins(definition) : undefined;
  const tiers = byCriticality(product.tiers);
  const [chosenTier, setTier] = useState<TierId | undefined>(tiers[0]);
  const tier = chosenTier && tiers.includes(chosenTier) ? chosenTier : tiers[0];
  const params = parametersOf(product);
  return (
    <Section title={product.title} level={3}>
      <Flex direction="column" gap="3">
        {definition && (
          <Text as="p" variant="body-small" aria-label="Project definition">
            Project <strong>{definition.project}</strong>'s definition:{' '}
            {definition.chain.map(describeOrigin).join(' → ')}
            {definition.publish ? ' · published to other projects' : ''}
          </Text>
        )}
        {effective.error && (
          <Text as="p" variant="body-small">
            Could not read project {project}'s definition of{' '}
            {props.product.title}: {effective.error.message}
          </Text>
        )}
        <Text as="p">{product.description}</Text>
        <Text as="p" variant="body-small" color="secondary">
          {product.category} · tiers {tiers.join(', ')}
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
              ...(origins
                ? [
                    {
                      title: 'From',
                      render: (p: ParameterRow) => {
                        const origin = origins.get(p.name);
                        return origin ? describeOrigin(origin) : '';
                      },
                    },
                  ]
                : []),
            ]}
          />
        ) : (
          <Text variant="body-small">No parameters.</Text>
        )}
        {tiers.length > 0 && (
          <label>
            <Text variant="body-small">Tier </Text>
            <select
              aria-label={`Tier of ${product.title}`}
              value={tier}
              onChange={e => setTier(e.target.value as TierId)}
            >
              {tiers.map(t => (
                <option key={t} value={t}>
                  {t}
                </option>
              ))}
            </select>
          </label>
        )}
        <PriceEstimate product={product} tier={tier} />
        <RequestLinks
          product={product}
          tier={tier}
          templates={props.templates}
        />
      </Flex>
    </Section>
  );
};

const statusLabel = {
  pass: '✓ pass',
  fail: '✗ fail',
  unverified: '? unverified',
};

/** A project's compliance: each rule of its regimes, for it and each of its resources. */
const ProjectCompliance = (props: { project: string }) => {
  const api = useApi(controlPlaneApiRef);
  const report = useAsync(
    () => api.projectCompliance(props.project),
    [api, props.project],
  );
  return (
    <Section title={`Compliance of project ${props.project}`}>
      <AsyncView
        what="the compliance report"
        loading={report.loading}
        error={report.error}
        value={report.value}
        isEmpty={r => !r.declared}
        empty={{
          title: 'No compliance rules',
          description: `Project ${props.project} has no projects/${props.project}/project.yaml in the state repository, so no compliance regime applies to it.`,
        }}
      >
        {r => (
          <Flex direction="column" gap="2">
            <Text as="p">
              Regimes: <strong>{r.regimes.join(', ') || 'none'}</strong> ·{' '}
              {r.summary.pass} pass, {r.summary.fail} fail,{' '}
              {r.summary.unverified} unverified
            </Text>
            {r.approvals.breaking.length > 0 && (
              <Text as="p" variant="body-small" color="secondary">
                Breaking changes need {r.approvals.breaking.join(', ')}
              </Text>
            )}
            <DataTable
              caption={`Compliance rules of project ${r.project}`}
              rows={r.checks}
              rowKey={c => `${c.rule} ${c.subject}`}
              columns={[
                { title: 'Rule', render: c => <code>{c.rule}</code> },
                { title: 'Subject', render: c => c.subject },
                { title: 'Status', render: c => statusLabel[c.status] },
                { title: 'Reason', render: c => c.reason },
              ]}
            />
          </Flex>
        )}
      </AsyncView>
    </Section>
  );
};

/** Chooses the project (a namespace) whose definitions and compliance to show. */
const ProjectPicker = (props: { onChange: (project?: string) => void }) => {
  const [text, setText] = useState('');
  return (
    <form
      onSubmit={e => {
        e.preventDefault();
        props.onChange(text.trim() || undefined);
      }}
    >
      <Flex gap="2" align="center">
        <label>
          <Text variant="body-small">Project (namespace) </Text>
          <input
            aria-label="Project"
            value={text}
            placeholder="e.g. payments"
            onChange={e => setText(e.target.value)}
          />
        </label>
        <button type="submit">Show the project's definitions</button>
      </Flex>
    </form>
  );
};

/** The self-service catalog: what can be requested, at which tier, for how much. */
export const SelfServicePage = () => {
  const api = useApi(controlPlaneApiRef);
  const products = useAsync(() => api.products(), [api]);
  const tiers = useAsync(() => api.tiers(), [api]);
  const templates = useProductTemplates();
  const [project, setProject] = useState<string | undefined>();
  return (
    <Container>
      <Flex direction="column" gap="4">
        <ProjectPicker onChange={setProject} />
        {project && <ProjectCompliance project={project} />}
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
                  <ProductCard
                    key={p.id}
                    product={p}
                    templates={templates}
                    project={project}
                  />
                ))}
              </Grid.Root>
            )}
          </AsyncView>
        </Section>
      </Flex>
    </Container>
  );
};
