import { envName, GenerationUnit, param } from './model';

/**
 * How a product runs on a developer's machine: its public image, the port it listens on,
 * where it keeps its data, how to tell it is ready, and what its consumers need to connect.
 * Secrets are never values: each is a variable the developer sets (see {@link secretVariable}).
 */
export interface LocalEngine {
  image(unit: GenerationUnit): string;
  port(unit: GenerationUnit): number;
  /** Where its data lives in the container (a named volume is mounted there). */
  dataPath?: string;
  /** Its own configuration, secrets as variables. */
  environment(unit: GenerationUnit): Record<string, string>;
  command?(unit: GenerationUnit): string[];
  /** A healthcheck test in the Compose form (`CMD-SHELL`, ...). */
  healthcheck(unit: GenerationUnit): string[];
  /** What a consumer is given to connect, by variable suffix (`HOST`, `PASSWORD`, ...). */
  connection(unit: GenerationUnit): Record<string, string>;
}

/** The user the generated databases create for the application. */
export const APP_USER = 'app';

/**
 * The variable a secret of `unit` is read from: a Compose interpolation that fails when the
 * variable is unset, so no value is ever written and none is ever guessed.
 */
export function secretVariable(...parts: string[]): {
  name: string;
  reference: string;
} {
  const name = envName(...parts);
  return { name, reference: `\${${name}:?set ${name} in .env}` };
}

const password = (unit: GenerationUnit) =>
  secretVariable(unit.key, 'PASSWORD').reference;

/** The database a unit creates: its name, as a SQL identifier. */
const database = (unit: GenerationUnit) => unit.name.replace(/-/g, '_');

const sqlConnection = (unit: GenerationUnit, port: number) => ({
  HOST: unit.key,
  PORT: String(port),
  USER: APP_USER,
  PASSWORD: password(unit),
  DATABASE: database(unit),
});

/** Apache Kafka's images are tagged by full version: the engine version's latest patch. */
const kafkaPatch: Record<string, string> = {
  '3.7': '3.7.2',
  '3.8': '3.8.1',
  '3.9': '3.9.1',
};

const engines = new Map<string, LocalEngine>([
  [
    'mysql',
    {
      image: u => `mysql:${param(u, 'engineVersion', '8.4')}`,
      port: () => 3306,
      dataPath: '/var/lib/mysql',
      environment: u => ({
        MYSQL_DATABASE: database(u),
        MYSQL_USER: APP_USER,
        MYSQL_PASSWORD: password(u),
        MYSQL_ROOT_PASSWORD: secretVariable(u.key, 'ROOT_PASSWORD').reference,
      }),
      healthcheck: () => [
        'CMD-SHELL',
        'mysqladmin ping -h 127.0.0.1 -u "$$MYSQL_USER" -p"$$MYSQL_PASSWORD" --silent',
      ],
      connection: u => sqlConnection(u, 3306),
    },
  ],
  [
    'postgres',
    {
      image: u => `postgres:${param(u, 'engineVersion', '17')}`,
      port: () => 5432,
      dataPath: '/var/lib/postgresql/data',
      environment: u => ({
        POSTGRES_DB: database(u),
        POSTGRES_USER: APP_USER,
        POSTGRES_PASSWORD: password(u),
      }),
      healthcheck: () => [
        'CMD-SHELL',
        'pg_isready -U "$$POSTGRES_USER" -d "$$POSTGRES_DB"',
      ],
      connection: u => sqlConnection(u, 5432),
    },
  ],
  [
    'redis',
    {
      image: u => `redis:${param(u, 'engineVersion', '7.4')}`,
      port: () => 6379,
      dataPath: '/data',
      environment: u => ({ REDIS_PASSWORD: password(u) }),
      command: u => {
        const persistence = param<string>(u, 'persistence', 'rdb');
        return [
          'sh',
          '-c',
          [
            'exec redis-server --requirepass "$$REDIS_PASSWORD"',
            `--maxmemory-policy ${param(u, 'maxMemoryPolicy', 'allkeys-lru')}`,
            `--appendonly ${persistence === 'aof' ? 'yes' : 'no'}`,
            persistence === 'none' ? `--save ''` : '--save 60 1',
          ].join(' '),
        ];
      },
      healthcheck: () => [
        'CMD-SHELL',
        'redis-cli -a "$$REDIS_PASSWORD" --no-auth-warning ping | grep -q PONG',
      ],
      connection: u => ({
        HOST: u.key,
        PORT: '6379',
        PASSWORD: password(u),
      }),
    },
  ],
  [
    'kafka',
    {
      image: u => {
        const version = param(u, 'engineVersion', '3.9');
        return `apache/kafka:${
          Object.hasOwn(kafkaPatch, version) ? kafkaPatch[version] : version
        }`;
      },
      port: () => 9092,
      dataPath: '/var/lib/kafka/data',
      // One broker in KRaft mode, its own controller: enough for local development.
      environment: u => ({
        KAFKA_NODE_ID: '1',
        KAFKA_PROCESS_ROLES: 'broker,controller',
        KAFKA_LISTENERS: 'PLAINTEXT://:9092,CONTROLLER://:9093',
        KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://${u.key}:9092`,
        KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
        KAFKA_LISTENER_SECURITY_PROTOCOL_MAP:
          'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
        KAFKA_CONTROLLER_QUORUM_VOTERS: `1@${u.key}:9093`,
        KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
        KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
        KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
        KAFKA_NUM_PARTITIONS: String(param(u, 'defaultPartitions', 12)),
        KAFKA_LOG_RETENTION_HOURS: String(param(u, 'retentionHours', 168)),
        KAFKA_LOG_DIRS: '/var/lib/kafka/data',
      }),
      healthcheck: () => [
        'CMD-SHELL',
        '/opt/kafka/bin/kafka-broker-api-versions.sh --bootstrap-server localhost:9092 > /dev/null',
      ],
      connection: u => ({ BOOTSTRAP_SERVERS: `${u.key}:9092` }),
    },
  ],
  [
    'webapp',
    {
      image: u =>
        `${param(u, 'image', 'ghcr.io/acme/app')}:${param(
          u,
          'version',
          'latest',
        )}`,
      port: u => param(u, 'port', 8080),
      environment: u => webappEnvironment(u),
      healthcheck: u => [
        'CMD-SHELL',
        `wget -q -O /dev/null http://127.0.0.1:${param(u, 'port', 8080)}${param(
          u,
          'healthCheckPath',
          '/healthz',
        )} || exit 1`,
      ],
      connection: u => ({
        URL: `http://${u.key}:${param(u, 'port', 8080)}`,
      }),
    },
  ],
]);

/** The engine that runs `product` locally, if there is one. */
export function localEngine(product: string): LocalEngine | undefined {
  return engines.get(product);
}

/** A webapp's own `env`: values as written, secret references as variables. */
function webappEnvironment(unit: GenerationUnit): Record<string, string> {
  const env = param<Record<string, unknown>>(unit, 'env', {});
  const out: Record<string, string> = {
    PORT: String(param(unit, 'port', 8080)),
  };
  for (const [name, value] of Object.entries(env)) {
    const ref = (value as { secretRef?: { name: string; key: string } })
      ?.secretRef;
    out[name] = ref
      ? secretVariable(ref.name, ref.key).reference
      : String(value);
  }
  return out;
}
