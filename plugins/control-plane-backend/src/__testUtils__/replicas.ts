import { mockCredentials } from '@backstage/backend-test-utils';
import { ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { resolve } from 'node:path';

/** A free TCP port on the loopback interface. */
export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
    server.on('error', fail);
  });
}

/** A replica process that can be started, killed with SIGKILL, and started again. */
export class Replica {
  private child?: ChildProcess;
  private output: string[] = [];
  /** The saga engine's worker id of the current process (it changes on every start). */
  workerId?: string;
  readonly url: string;

  constructor(
    readonly name: string,
    readonly port: number,
    private readonly config: Record<string, unknown>,
  ) {
    this.url = `http://127.0.0.1:${port}`;
  }

  async start(): Promise<void> {
    const config = {
      // one process, no events backend: events stay in the process
      events: { useEventBus: 'never' },
      ...this.config,
      backend: {
        baseUrl: this.url,
        listen: { port: this.port, host: '127.0.0.1' },
        ...(this.config.backend as object),
      },
    };
    this.output = [];
    this.workerId = undefined;
    this.child = spawn(
      process.execPath,
      [
        '--import',
        require.resolve('@backstage/cli/config/nodeTransform.cjs'),
        resolve(__dirname, 'replica.ts'),
      ],
      {
        env: {
          ...process.env,
          IDP_REPLICA_CONFIG: JSON.stringify(config),
          NODE_ENV: 'development',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const keep = (chunk: Buffer) => {
      const text = chunk.toString();
      this.workerId ??= /saga engine (worker-[0-9a-f]+) started/.exec(
        text,
      )?.[1];
      this.output.push(text);
      if (this.output.length > 400) this.output.splice(0, 200);
    };
    this.child.stdout!.on('data', keep);
    this.child.stderr!.on('data', keep);
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(
          `replica ${this.name} exited at start:\n${this.output.join('')}`,
        );
      }
      try {
        const res = await fetch(`${this.url}/api/control-plane/health`, {
          signal: AbortSignal.timeout(2000),
        });
        if (res.ok && this.workerId) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline)
        throw new Error(
          `replica ${this.name} did not start:\n${this.output.join('')}`,
        );
      await new Promise(r => setTimeout(r, 200));
    }
  }

  /** kill -STOP: the process is frozen (no heartbeat, no write). */
  pause(): void {
    this.child?.kill('SIGSTOP');
  }

  /** kill -9: no shutdown hook runs, nothing is flushed. */
  async kill(): Promise<void> {
    const child = this.child;
    // a process killed by a signal has a signalCode and no exitCode
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise(r => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }

  logs(): string {
    return this.output.join('');
  }

  /** Calls the replica's control plane API as a user. */
  async api(
    path: string,
    init: { method?: string; body?: unknown } = {},
  ): Promise<any> {
    const what = `${init.method ?? 'GET'} ${path} on replica ${this.name}`;
    let status: number;
    let text: string;
    try {
      const res = await fetch(`${this.url}/api/control-plane${path}`, {
        method: init.method ?? 'GET',
        headers: {
          authorization: mockCredentials.user.header('user:default/ana'),
          'content-type': 'application/json',
        },
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
        signal: AbortSignal.timeout(60_000),
      });
      status = res.status;
      text = await res.text();
    } catch (error) {
      throw new Error(`${what}: ${error}\n${this.logs().slice(-6000)}`);
    }
    if (status >= 400) throw new Error(`${what}: ${status} ${text}`);
    return text ? JSON.parse(text) : undefined;
  }
}

/**
 * The cells of the seeded fleet in proportion to their capacity (room for 320, 240 and 200
 * resources), so that hundreds of resources fit.
 */
const CELL_PATTERN = [
  ...Array(8).fill('cell-us'),
  ...Array(6).fill('cell-eu'),
  ...Array(5).fill('cell-ap'),
];

/** A multi-document YAML of `count` resources with a few product kinds. */
export function fleetYaml(prefix: string, count: number): string {
  const products = [
    { product: 'redis', params: {} },
    { product: 'mysql', params: { size: 'small' } },
    { product: 'postgres', params: { size: 'small' } },
    {
      product: 'webapp',
      params: { image: 'ghcr.io/acme/app', version: '1.0.0' },
    },
  ];
  return Array.from({ length: count }, (_, i) => {
    const { product, params } = products[i % products.length];
    return JSON.stringify({
      apiVersion: 'idp.multicloud/v1',
      kind: 'Resource',
      metadata: { name: `${prefix}-${i}`, namespace: 'load' },
      spec: {
        product,
        owner: 'group:default/payments',
        tier: 'low',
        cell: CELL_PATTERN[i % CELL_PATTERN.length],
        params,
      },
    });
  }).join('\n---\n');
}

/**
 * The side effects the simulator performed more than once: per token, and per resource and
 * kind of effect whatever the token (from its append-only log of performances). Empty when
 * every side effect was performed once.
 */
export function performedTwice(effects: {
  tokens: Array<{ token: string; action: string; applied: number }>;
  performed: Array<{
    ref: string;
    action: string;
    detail?: string;
    cluster: string;
    applied: number;
  }>;
}): string[] {
  return [
    ...effects.tokens
      .filter(t => t.applied !== 1)
      .map(t => `${t.action} under ${t.token}: ${t.applied} times`),
    ...effects.performed
      .filter(e => e.applied !== 1)
      .map(
        e =>
          `${e.action}${e.detail ? ` ${e.detail}` : ''} of ${e.ref} on ${
            e.cluster
          }: ${e.applied} times`,
      ),
  ];
}
