import { z } from 'zod';
import { OperationType, operationTypeSchema } from './operations';
import { tierIdSchema } from './tiers';
import { nameSchema } from './names';
import { secretReferenceSchema } from './secrets';

/**
 * The size classes every sized product offers.
 * @public
 */
export const sizeClasses = ['small', 'medium', 'large', 'xlarge'] as const;

const size = z
  .enum(sizeClasses)
  .default('medium')
  .describe('size class: CPU and memory per replica');

const deprecationSchema = z
  .object({
    removalDate: z.iso
      .date()
      .describe('when it stops being offered (YYYY-MM-DD)'),
    message: z.string().max(500).optional(),
  })
  .strict();

/**
 * A JSON Schema (draft 2020-12) describing an object of parameters.
 * @public
 */
export const parameterSchemaSchema = z
  .object({ type: z.literal('object') })
  .catchall(z.unknown());

/**
 * How a product provides the features a tier may require: the parameter that switches each
 * one on. A tier requiring a feature sets that parameter when the request leaves it out, and
 * refuses a request that turns it off.
 * @public
 */
export const productFeaturesSchema = z.object({
  backups: z.string().optional(),
  multiAZ: z.string().optional(),
  encryption: z.string().optional(),
});

/**
 * Features a tier may require that do not apply to a product, each with the reason (e.g. a
 * stateless web application has nothing to back up). A tier requiring a feature the product
 * neither provides (see {@link productFeaturesSchema}) nor waives here is refused.
 * @public
 */
export const productWaivedFeaturesSchema = z.object({
  backups: z.string().min(1).optional(),
  multiAZ: z.string().min(1).optional(),
  encryption: z.string().min(1).optional(),
});

/**
 * What a product is and what it accepts. Declared in the state repository as YAML
 * (`products/<id>.yaml`), or registered by a backend module.
 * @public
 */
export const productSpecSchema = z.object({
  title: z.string().min(1),
  description: z.string(),
  category: z.enum(['database', 'cache', 'messaging', 'storage', 'compute']),
  parameters: parameterSchemaSchema.describe(
    'JSON Schema of the parameters a resource of this product takes',
  ),
  tiers: z
    .array(tierIdSchema)
    .min(1)
    .describe('the tiers this product may run in'),
  operations: z
    .array(operationTypeSchema)
    .describe('the operations of the unified contract it implements'),
  dependsOn: z
    .array(nameSchema)
    .default([])
    .describe('products a resource of this product may depend on'),
  features: productFeaturesSchema.default({}),
  waivedFeatures: productWaivedFeaturesSchema
    .default({})
    .describe(
      'features a tier may require that do not apply to this product, with the reason',
    ),
  sizes: z
    .record(
      z.string(),
      z.object({ cpu: z.number().positive(), memoryGi: z.number().positive() }),
    )
    .default({})
    .describe('resources per replica of each size class'),
  storageParameter: z
    .string()
    .optional()
    .describe(
      'the parameter holding the storage size in GiB, for quotas and cost',
    ),
  storageShrink: z
    .boolean()
    .optional()
    .describe(
      'whether its storage may be made smaller (by update or a scale operation); most volumes only grow, so absent means no',
    ),
  replicasParameter: z.string().optional(),
  versionParameter: z
    .string()
    .optional()
    .describe('the parameter holding the engine version or image tag'),
  retries: z
    .object({
      maxAttempts: z
        .number()
        .int()
        .min(1)
        .max(20)
        .optional()
        .describe('attempts per saga step for retryable errors'),
      stepTimeoutSeconds: z
        .number()
        .int()
        .positive()
        .optional()
        .describe('how long one attempt of a saga step may take'),
    })
    .strict()
    .optional()
    .describe(
      "retry limits of this product's saga steps; each one set overrides the tier's",
    ),
  deprecated: deprecationSchema
    .extend({
      replacement: z
        .string()
        .optional()
        .describe('the product to use instead, e.g. postgres'),
    })
    .optional()
    .describe(
      'the product is deprecated: every plan that uses it warns, and its usage (the products usage route) lists who still does',
    ),
  deprecatedVersions: z
    .record(z.string(), deprecationSchema)
    .optional()
    .describe(
      'versions of the engine (values of versionParameter) that are deprecated, each with its removal date: plans of resources on them warn',
    ),
});

/**
 * A product's specification.
 * @public
 */
export type ProductSpec = z.infer<typeof productSpecSchema>;

const standardSizes = {
  small: { cpu: 1, memoryGi: 2 },
  medium: { cpu: 2, memoryGi: 8 },
  large: { cpu: 4, memoryGi: 16 },
  xlarge: { cpu: 8, memoryGi: 64 },
};

const backups = z
  .object({
    enabled: z.boolean().default(true),
    retentionDays: z.number().int().min(1).max(35).default(7),
    window: z
      .string()
      .regex(
        /^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$/,
        'must be HH:MM-HH:MM (UTC)',
      )
      .default('02:00-03:00'),
  })
  .strict()
  .default({ enabled: true, retentionDays: 7, window: '02:00-03:00' });

/**
 * Parameters of a MySQL database.
 * @public
 */
export const mysqlParameters = z
  .object({
    size,
    storageGi: z.number().int().min(10).max(16384).default(20),
    engineVersion: z.enum(['8.0', '8.4']).default('8.4'),
    replicas: z
      .number()
      .int()
      .min(0)
      .max(5)
      .default(1)
      .describe('read replicas besides the primary'),
    highAvailability: z
      .boolean()
      .default(false)
      .describe('a synchronous standby in another zone'),
    backups,
    encryption: z.boolean().default(true).describe('encryption at rest'),
    parameters: z
      .record(z.string(), z.string())
      .default({})
      .describe('server variables, e.g. max_connections'),
  })
  .strict();

/**
 * Parameters of a PostgreSQL database.
 * @public
 */
export const postgresParameters = z
  .object({
    size,
    storageGi: z.number().int().min(10).max(16384).default(20),
    engineVersion: z.enum(['15', '16', '17']).default('17'),
    replicas: z.number().int().min(0).max(5).default(1),
    highAvailability: z.boolean().default(false),
    backups,
    encryption: z.boolean().default(true),
    extensions: z
      .array(z.enum(['pgvector', 'postgis', 'pg_stat_statements', 'pgcrypto']))
      .default([]),
  })
  .strict();

/**
 * Parameters of a Redis cache.
 * @public
 */
export const redisParameters = z
  .object({
    size: z.enum(sizeClasses).default('small').describe('size class'),
    engineVersion: z.enum(['7.2', '7.4']).default('7.4'),
    replicas: z.number().int().min(0).max(5).default(1),
    highAvailability: z
      .boolean()
      .default(false)
      .describe('Sentinel failover across zones'),
    persistence: z.enum(['none', 'rdb', 'aof']).default('rdb'),
    backups,
    maxMemoryPolicy: z
      .enum(['noeviction', 'allkeys-lru', 'volatile-lru', 'allkeys-lfu'])
      .default('allkeys-lru'),
    encryption: z
      .boolean()
      .default(true)
      .describe('TLS in transit and encryption at rest'),
  })
  .strict();

/**
 * Parameters of a stateless web application running a versioned container image.
 * @public
 */
export const webappParameters = z
  .object({
    image: z
      .string()
      .regex(
        /^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/,
        'must be an image repository without a tag, e.g. ghcr.io/acme/checkout',
      )
      .meta({ examples: ['ghcr.io/acme/checkout'] }),
    version: z
      .string()
      .regex(
        /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/,
        'must be an image tag, e.g. 1.4.2',
      )
      .meta({ description: 'the image tag to run', examples: ['1.4.2'] }),
    size: z.enum(sizeClasses).default('small'),
    replicas: z.number().int().min(1).max(50).default(2),
    port: z.number().int().min(1).max(65535).default(8080),
    healthCheckPath: z.string().startsWith('/').default('/healthz'),
    env: z
      .record(
        z.string().regex(/^[A-Z_][A-Z0-9_]*$/),
        // A value, or a secret's: a credential is a reference, never a value.
        z.union([z.string(), secretReferenceSchema]),
      )
      .default({}),
    strategy: z
      .enum(['rolling', 'blue_green', 'canary'])
      .optional()
      .describe(
        "how new versions roll out (spec.rollout says more); the tier's default when left out",
      ),
    multiAZ: z.boolean().default(false).describe('spread replicas over zones'),
  })
  .strict();

/**
 * Parameters of a Kafka cluster.
 * @public
 */
export const kafkaParameters = z
  .object({
    size,
    brokers: z.number().int().min(1).max(30).default(3),
    storageGi: z
      .number()
      .int()
      .min(10)
      .max(65536)
      .default(100)
      .describe('per broker'),
    engineVersion: z.enum(['3.7', '3.8', '3.9']).default('3.9'),
    defaultPartitions: z.number().int().min(1).max(1000).default(12),
    replicationFactor: z.number().int().min(1).max(5).default(3),
    retentionHours: z.number().int().min(1).max(8760).default(168),
    multiAZ: z.boolean().default(false),
    encryption: z.boolean().default(true),
  })
  .strict()
  .refine(p => p.replicationFactor <= p.brokers, {
    message: 'replicationFactor cannot exceed the number of brokers',
    path: ['replicationFactor'],
  });

/**
 * Parameters of an object storage bucket.
 * @public
 */
export const objectBucketParameters = z
  .object({
    storageClass: z
      .enum(['standard', 'infrequent', 'archive'])
      .default('standard'),
    storageGi: z
      .number()
      .int()
      .min(1)
      .max(1048576)
      .default(100)
      .describe('expected size, for quotas and cost'),
    versioning: z.boolean().default(false),
    retentionDays: z
      .number()
      .int()
      .min(0)
      .max(3650)
      .default(0)
      .describe('delete objects older than this; 0 keeps them'),
    publicRead: z.boolean().default(false),
    encryption: z.boolean().default(true),
    replication: z
      .boolean()
      .default(false)
      .describe('replicate to a second region'),
  })
  .strict();

/**
 * The parameter schemas of the built-in products, by product id.
 * @public
 */
export const builtinProductParameters = {
  mysql: mysqlParameters,
  postgres: postgresParameters,
  redis: redisParameters,
  webapp: webappParameters,
  kafka: kafkaParameters,
  'object-bucket': objectBucketParameters,
};

/**
 * The id of a built-in product.
 * @public
 */
export type BuiltinProductId = keyof typeof builtinProductParameters;

/**
 * What a request may pass as the parameters of each built-in product (defaults optional).
 * @public
 */
export type BuiltinProductParameters = {
  [K in BuiltinProductId]: z.input<(typeof builtinProductParameters)[K]>;
};

const dbOps: OperationType[] = [
  'failover',
  'migrate',
  'backup',
  'restore',
  'scale',
  'rotate-credentials',
  'upgrade-version',
];

function spec(
  parameters: z.ZodType,
  rest: Omit<
    ProductSpec,
    'parameters' | 'dependsOn' | 'features' | 'waivedFeatures' | 'sizes'
  > &
    Partial<
      Pick<ProductSpec, 'dependsOn' | 'features' | 'waivedFeatures' | 'sizes'>
    >,
): ProductSpec {
  return productSpecSchema.parse({
    ...rest,
    parameters: z.toJSONSchema(parameters, {
      io: 'input',
      unrepresentable: 'any',
    }),
  });
}

/**
 * The products every control plane offers, unless the state repository redefines them.
 * @public
 */
export const builtinProducts: Record<BuiltinProductId, ProductSpec> = {
  mysql: spec(mysqlParameters, {
    title: 'MySQL',
    description:
      'Managed MySQL with read replicas, backups and point-in-time restore',
    category: 'database',
    tiers: ['critical', 'high', 'medium', 'low'],
    operations: dbOps,
    features: {
      backups: 'backups.enabled',
      multiAZ: 'highAvailability',
      encryption: 'encryption',
    },
    sizes: standardSizes,
    storageParameter: 'storageGi',
    replicasParameter: 'replicas',
    versionParameter: 'engineVersion',
  }),
  postgres: spec(postgresParameters, {
    title: 'PostgreSQL',
    description: 'Managed PostgreSQL with streaming replicas, backups and PITR',
    category: 'database',
    tiers: ['critical', 'high', 'medium', 'low'],
    operations: dbOps,
    features: {
      backups: 'backups.enabled',
      multiAZ: 'highAvailability',
      encryption: 'encryption',
    },
    sizes: standardSizes,
    storageParameter: 'storageGi',
    replicasParameter: 'replicas',
    versionParameter: 'engineVersion',
  }),
  redis: spec(redisParameters, {
    title: 'Redis',
    description:
      'Managed Redis cache with optional persistence and Sentinel failover',
    category: 'cache',
    tiers: ['critical', 'high', 'medium', 'low'],
    operations: [
      'failover',
      'migrate',
      'backup',
      'restore',
      'scale',
      'rotate-credentials',
      'upgrade-version',
    ],
    features: {
      backups: 'backups.enabled',
      multiAZ: 'highAvailability',
      encryption: 'encryption',
    },
    sizes: {
      small: { cpu: 0.5, memoryGi: 1 },
      medium: { cpu: 1, memoryGi: 4 },
      large: { cpu: 2, memoryGi: 13 },
      xlarge: { cpu: 4, memoryGi: 26 },
    },
    replicasParameter: 'replicas',
    versionParameter: 'engineVersion',
  }),
  webapp: spec(webappParameters, {
    title: 'Web application',
    description:
      'A stateless service running a versioned container image behind a load balancer',
    category: 'compute',
    tiers: ['critical', 'high', 'medium', 'low'],
    operations: ['migrate', 'scale', 'upgrade-version', 'rotate-credentials'],
    dependsOn: [
      'mysql',
      'postgres',
      'redis',
      'kafka',
      'object-bucket',
      'webapp',
    ],
    features: { multiAZ: 'multiAZ' },
    waivedFeatures: {
      backups: 'stateless: it holds no data to back up',
      encryption: 'stateless: it stores no data at rest',
    },
    sizes: {
      small: { cpu: 0.25, memoryGi: 0.5 },
      medium: { cpu: 0.5, memoryGi: 1 },
      large: { cpu: 1, memoryGi: 2 },
      xlarge: { cpu: 2, memoryGi: 4 },
    },
    replicasParameter: 'replicas',
    versionParameter: 'version',
  }),
  kafka: spec(kafkaParameters, {
    title: 'Kafka',
    description: 'Managed Apache Kafka cluster',
    category: 'messaging',
    tiers: ['critical', 'high', 'medium', 'low'],
    operations: ['migrate', 'scale', 'rotate-credentials', 'upgrade-version'],
    features: { multiAZ: 'multiAZ', encryption: 'encryption' },
    waivedFeatures: {
      backups:
        'durability comes from replication across brokers (replicationFactor); Kafka takes no snapshots',
    },
    sizes: standardSizes,
    storageParameter: 'storageGi',
    replicasParameter: 'brokers',
    versionParameter: 'engineVersion',
  }),
  'object-bucket': spec(objectBucketParameters, {
    title: 'Object bucket',
    description: 'An S3-compatible object storage bucket',
    category: 'storage',
    tiers: ['critical', 'high', 'medium', 'low'],
    operations: ['migrate', 'backup', 'restore', 'rotate-credentials'],
    features: {
      backups: 'versioning',
      multiAZ: 'replication',
      encryption: 'encryption',
    },
    storageParameter: 'storageGi',
    // A bucket has no volume: its storageGi is what it is expected to hold.
    storageShrink: true,
  }),
};
