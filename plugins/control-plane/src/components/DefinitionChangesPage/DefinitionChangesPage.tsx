import { MarkdownContent } from '@backstage/core-components';
import { useApi } from '@backstage/frontend-plugin-api';
import { Button, Container, Flex, Text } from '@backstage/ui';
import { Schemas } from '@idp-multicloud/sdk';
import { useState } from 'react';
import useAsync from 'react-use/esm/useAsync';
import { controlPlaneApiRef } from '../../api';
import { AsyncView, DataTable, formatTime, Section } from '../common';

type DefinitionChange = Schemas['DefinitionChange'];

/** The change a notification links to: `?id=` in the page's address. */
const linkedId = () =>
  new URLSearchParams(window.location.search).get('id') ?? undefined;

const BreakingChanges = () => {
  const api = useApi(controlPlaneApiRef);
  const [shown, setShown] = useState<string | undefined>(linkedId);
  const list = useAsync(() => api.definitionChanges(), [api]);
  return (
    <AsyncView
      what="the breaking changes"
      loading={list.loading}
      error={list.error}
      value={list.value}
      isEmpty={v => v.length === 0}
      empty={{
        title: 'No breaking change of a definition yet',
        description:
          'When a product definition changes in a way that breaks the resources using it (a parameter removed, a version dropped), it is listed here with its migration guide, and the owners are notified.',
      }}
    >
      {items => {
        const selected = items.find(c => c.id === shown);
        return (
          <Flex direction="column" gap="4">
            <DataTable
              caption="Breaking changes of definitions"
              rows={items}
              rowKey={c => c.id}
              rowLabel={c => `${c.product} ${c.commit.slice(0, 12)}`}
              columns={[
                { title: 'Product', render: c => c.product },
                { title: 'When', render: c => formatTime(c.createdAt) },
                { title: 'By', render: c => c.actor },
                {
                  title: 'What breaks',
                  render: (c: DefinitionChange) =>
                    c.findings
                      .filter(f => f.breaking)
                      .map(f => `${f.code} ${f.subject}`)
                      .join('; '),
                },
                {
                  title: 'Affected',
                  render: c =>
                    `${c.affected.resources.length} resource${
                      c.affected.resources.length === 1 ? '' : 's'
                    } in ${c.affected.projects.join(', ') || 'no project'}`,
                },
                {
                  title: 'Owners notified',
                  render: c =>
                    c.notifiedAt ? formatTime(c.notifiedAt) : 'not yet',
                },
                {
                  title: 'Guide',
                  render: c => (
                    <Button
                      size="small"
                      variant="secondary"
                      aria-label={`Migration guide of ${
                        c.product
                      } ${c.commit.slice(0, 12)}`}
                      onPress={() => setShown(c.id)}
                    >
                      Migration guide
                    </Button>
                  ),
                },
              ]}
            />
            {selected && (
              <section aria-label="Migration guide">
                <MarkdownContent content={selected.guide} />
              </section>
            )}
          </Flex>
        );
      }}
    </AsyncView>
  );
};

/** Deprecated products and versions, with who still uses them. */
const Deprecations = () => {
  const api = useApi(controlPlaneApiRef);
  const usage = useAsync(async () => {
    const products = (await api.products()).filter(
      p => p.deprecated || Object.keys(p.deprecatedVersions ?? {}).length > 0,
    );
    return Promise.all(products.map(p => api.productUsage(p.id)));
  }, [api]);
  return (
    <AsyncView
      what="the deprecations"
      loading={usage.loading}
      error={usage.error}
      value={usage.value}
      isEmpty={v => v.length === 0}
      empty={{
        title: 'Nothing is deprecated',
        description:
          'A product, or a version of its engine, marked deprecated with a removal date appears here with who still uses it.',
      }}
    >
      {items => (
        <DataTable
          caption="Deprecations"
          rows={items.flatMap(u => [
            ...(u.deprecated
              ? [
                  {
                    key: u.product,
                    what: `${u.product}${
                      u.deprecated.replacement
                        ? ` (use ${u.deprecated.replacement})`
                        : ''
                    }`,
                    removal: u.deprecated.removalDate,
                    users: u.resources,
                  },
                ]
              : []),
            ...Object.entries(u.deprecatedVersions ?? {}).map(([v, d]) => ({
              key: `${u.product}@${v}`,
              what: `${u.product} ${v}`,
              removal: d.removalDate,
              users: u.resources.filter(r => r.version === v),
            })),
          ])}
          rowKey={r => r.key}
          rowLabel={r => r.what}
          columns={[
            { title: 'Deprecated', render: r => r.what },
            { title: 'Removal', render: r => r.removal },
            {
              title: 'Still used by',
              render: r =>
                r.users.length === 0 ? (
                  'nobody'
                ) : (
                  <Text variant="body-small">
                    {r.users.map(u => `${u.ref} (${u.owner})`).join(', ')}
                  </Text>
                ),
            },
          ]}
        />
      )}
    </AsyncView>
  );
};

/**
 * Product definitions as they change: breaking changes applied (with their migration guides,
 * where notifications lead) and what is deprecated, with who still uses it.
 */
export const DefinitionChangesPage = () => (
  <Container>
    <Flex direction="column" gap="4">
      <Section title="Breaking changes of definitions">
        <BreakingChanges />
      </Section>
      <Section title="Deprecations">
        <Deprecations />
      </Section>
    </Flex>
  </Container>
);
