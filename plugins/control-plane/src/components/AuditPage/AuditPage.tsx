import { useApi } from '@backstage/frontend-plugin-api';
import { Alert, Button, Container, Flex, Text, TextField } from '@backstage/ui';
import { Schemas } from '@idp-multicloud/sdk';
import { FormEvent, useState } from 'react';
import useAsyncFn from 'react-use/esm/useAsyncFn';
import useAsync from 'react-use/esm/useAsync';
import { controlPlaneApiRef } from '../../api';
import { AuditQuery } from '../../types';
import { AsyncView, DataTable, formatTime, Section } from '../common';

type AuditEvent = Schemas['AuditEvent'];
const outcomes = ['accepted', 'rejected', 'succeeded', 'failed'] as const;

const VerifyChain = () => {
  const api = useApi(controlPlaneApiRef);
  const [{ value, loading, error }, verify] = useAsyncFn(
    () => api.verifyAudit(),
    [api],
  );
  return (
    <Flex direction="column" gap="2">
      <Flex gap="2" align="center">
        <Button variant="primary" isPending={loading} onPress={() => verify()}>
          Verify chain
        </Button>
        <Text variant="body-small" color="secondary">
          Recomputes every event's hash to prove no event was changed or
          removed.
        </Text>
      </Flex>
      <div role="status">
        {error && (
          <Alert
            status="danger"
            icon
            title={`Could not verify the chain: ${error.message}`}
          />
        )}
        {value && !loading && value.valid && (
          <Alert
            status="success"
            icon
            title={`The chain is intact: ${value.checked} events checked`}
          />
        )}
        {value && !loading && !value.valid && (
          <Alert
            status="danger"
            icon
            title={`The chain is broken${
              value.firstBroken ? ` at event ${value.firstBroken.id}` : ''
            }`}
            description={`${value.firstBroken?.reason ?? ''} (${
              value.checked
            } events checked)`}
          />
        )}
      </div>
    </Flex>
  );
};

/** The audit log, filterable, with a check of its hash chain. */
export const AuditPage = () => {
  const api = useApi(controlPlaneApiRef);
  const [draft, setDraft] = useState<AuditQuery>({});
  const [query, setQuery] = useState<AuditQuery>({});
  const [pages, setPages] = useState<AuditEvent[]>([]);
  const [cursor, setCursor] = useState<string>();
  const { value, loading, error } = useAsync(async () => {
    const page = await api.audit({ ...query, cursor, limit: 50 });
    setPages(prev => (cursor ? [...prev, ...page.items] : page.items));
    return page;
  }, [api, query, cursor]);

  const apply = (e?: FormEvent) => {
    e?.preventDefault();
    setCursor(undefined);
    setQuery(
      Object.fromEntries(
        Object.entries(draft).filter(([, v]) => v !== undefined && v !== ''),
      ),
    );
  };
  const field = (key: 'actor' | 'action' | 'target', label: string) => (
    <TextField
      label={label}
      size="small"
      value={(draft[key] as string) ?? ''}
      onChange={v => setDraft(d => ({ ...d, [key]: v }))}
    />
  );

  return (
    <Container>
      <Flex direction="column" gap="4">
        <Section title="Verify the audit chain">
          <VerifyChain />
        </Section>
        <Section title="Audit log">
          <Flex direction="column" gap="3">
            <form aria-label="Filter the audit log" onSubmit={apply}>
              <Flex gap="2" align="end" style={{ flexWrap: 'wrap' }}>
                {field('actor', 'Actor')}
                {field('action', 'Action')}
                {field('target', 'Target')}
                <label>
                  <Text variant="body-small">Outcome </Text>
                  <select
                    value={draft.outcome ?? ''}
                    onChange={e =>
                      setDraft(d => ({
                        ...d,
                        outcome: (e.target.value ||
                          undefined) as AuditQuery['outcome'],
                      }))
                    }
                  >
                    <option value="">any</option>
                    {outcomes.map(o => (
                      <option key={o} value={o}>
                        {o}
                      </option>
                    ))}
                  </select>
                </label>
                <Button type="submit" variant="secondary" size="small">
                  Apply filters
                </Button>
              </Flex>
            </form>
            <AsyncView
              what="the audit log"
              loading={loading && pages.length === 0}
              error={error}
              value={value ? pages : undefined}
              isEmpty={v => v.length === 0}
              empty={{
                title:
                  Object.keys(query).length > 0
                    ? 'No event matches these filters'
                    : 'The audit log is empty',
                description:
                  Object.keys(query).length > 0
                    ? 'Loosen the filters: actor, action and target match exactly.'
                    : 'Every request that changes something is recorded here. Request a resource to see the first events.',
              }}
            >
              {items => (
                <Flex direction="column" gap="2">
                  <DataTable
                    caption="Audit events"
                    rows={items}
                    rowKey={e => String(e.id)}
                    columns={[
                      { title: '#', render: e => String(e.id) },
                      { title: 'When', render: e => formatTime(e.at) },
                      {
                        title: 'Actor',
                        // A hand push names its author as Git has it: nothing proves it.
                        render: e =>
                          e.verified === false
                            ? `${e.actor} (unverified)`
                            : e.actor,
                      },
                      { title: 'Action', render: e => e.action },
                      { title: 'Target', render: e => e.target },
                      { title: 'Outcome', render: e => e.outcome },
                      {
                        title: 'Details',
                        render: e =>
                          [
                            e.reason,
                            e.approvers.length
                              ? `approved by ${e.approvers.join(', ')}`
                              : undefined,
                            e.source.ip ? `from ${e.source.ip}` : undefined,
                            e.commit
                              ? `commit ${e.commit.slice(0, 8)}`
                              : undefined,
                          ]
                            .filter(Boolean)
                            .join(' · ') || '—',
                      },
                    ]}
                  />
                  {value?.nextCursor && (
                    <Button
                      variant="secondary"
                      size="small"
                      isPending={loading}
                      onPress={() => setCursor(value.nextCursor)}
                    >
                      Load more
                    </Button>
                  )}
                </Flex>
              )}
            </AsyncView>
          </Flex>
        </Section>
      </Flex>
    </Container>
  );
};
