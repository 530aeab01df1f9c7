/*
 * The shapes the frontend reads, named after the API's. Each is the SDK's type generated from
 * the OpenAPI document (itself generated from the zod schemas of -common), never a copy: when
 * the contract changes, code reading a field the API no longer sends stops compiling.
 */
import type { IdpApiPaths, Schemas } from '@idp-multicloud/sdk';

/**
 * The operations of the unified contract a user can start on a resource.
 * @public
 */
export type OperationType = Schemas['CreateOperationRequest']['type'];

/**
 * A filter of the audit log.
 * @public
 */
export type AuditQuery = NonNullable<
  IdpApiPaths['/audit']['get']['parameters']['query']
>;

/**
 * Why a resource was placed where it is (`GET /resources/{ns}/{name}/placement`).
 * @public
 */
export type PlacementExplanation = Schemas['PlacementDecision'];

/**
 * A resource's cost this month against its budget (`GET /resources/{ns}/{name}/cost`).
 * @public
 */
export type ResourceCost = Schemas['ResourceCost'];

/**
 * The usage of one quota (`GET /quotas/usage`).
 * @public
 */
export type QuotaUsage = Schemas['QuotaUsage'];

/**
 * What to price (`POST /cost/estimate`).
 * @public
 */
export type CostEstimateRequest = Schemas['CostEstimateRequest'];

/**
 * A monthly price estimate per provider (`POST /cost/estimate`); `cheapest` is absent when no
 * provider can run it.
 * @public
 */
export type CostEstimate = Schemas['CostEstimate'];

/**
 * A provider with its live health and circuit breaker (`GET /providers`).
 * @public
 */
export type FleetProvider = Schemas['Provider'];

/**
 * A cluster with what the resources placed on it ask of it (`GET /clusters`).
 * @public
 */
export type FleetCluster = Schemas['Cluster'];
