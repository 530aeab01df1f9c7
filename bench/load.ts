/**
 * A load generator for the write path: keyed creates of redis resources, `concurrent` at a
 * time, sent from a worker thread, as a separate client would send them: the client's own
 * work (building, sending and parsing requests) runs on its own event loop and core, not on
 * the backend's, whose capacity is what is measured.
 */
import { percentile } from './harness';
import { Worker } from 'node:worker_threads';

export interface LoadResult {
  perSecond: number;
  p50: number;
  p99: number;
  max: number;
}

// Plain JavaScript (the worker does not load the TypeScript transform): only node's http.
const CLIENT = `
const { parentPort, workerData } = require('node:worker_threads');
const { Agent, request } = require('node:http');
const { randomUUID } = require('node:crypto');
const { performance } = require('node:perf_hooks');
const { url, authorization, concurrent, creates, prefix, namespace } = workerData;
const agent = new Agent({ keepAlive: true, maxSockets: concurrent });
function post(body) {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: 'POST',
      agent,
      headers: {
        authorization,
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(payload),
        'idempotency-key': randomUUID(),
      },
    }, res => {
      const chunks = [];
      res.on('data', c => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        if (res.statusCode !== 201 && res.statusCode !== 202) {
          reject(new Error('create answered ' + res.statusCode + ': ' + Buffer.concat(chunks)));
        } else resolve();
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}
(async () => {
  const latencies = [];
  let next = 0;
  const start = performance.now();
  await Promise.all(Array.from({ length: concurrent }, async () => {
    while (next < creates) {
      const i = next++;
      const t = performance.now();
      await post({
        name: prefix + i,
        namespace,
        product: 'redis',
        owner: 'group:default/team-' + namespace,
        tier: 'low',
        cell: 'cell-us',
      });
      latencies.push(performance.now() - t);
    }
  }));
  agent.destroy();
  parentPort.postMessage({ seconds: (performance.now() - start) / 1000, latencies });
})().catch(error => parentPort.postMessage({ error: String(error && error.stack || error) }));
`;

let runs = 0;

/** `creates` keyed creates in `namespace`, `concurrent` at a time, from a worker thread. */
export function loadCreates(options: {
  baseUrl: string;
  authorization: string;
  concurrent: number;
  creates: number;
  namespace: string;
}): Promise<LoadResult> {
  const worker = new Worker(CLIENT, {
    eval: true,
    workerData: {
      url: `${options.baseUrl}/resources`,
      authorization: options.authorization,
      concurrent: options.concurrent,
      creates: options.creates,
      namespace: options.namespace,
      prefix: `load-${process.pid}-${runs++}-`,
    },
  });
  return new Promise<LoadResult>((resolve, reject) => {
    worker.once('error', reject);
    worker.once('message', message => {
      void worker.terminate();
      if (message.error) {
        reject(new Error(message.error));
        return;
      }
      const latencies: number[] = message.latencies;
      resolve({
        perSecond: options.creates / message.seconds,
        p50: percentile(latencies, 50),
        p99: percentile(latencies, 99),
        max: Math.max(...latencies),
      });
    });
  });
}
