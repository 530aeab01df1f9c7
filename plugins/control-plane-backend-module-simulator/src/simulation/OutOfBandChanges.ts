import { LoggerService } from '@backstage/backend-plugin-api';
import { NotFoundError } from '@backstage/errors';
import { Knex } from 'knex';
import { DateTime } from 'luxon';
import {
  publicClaim,
  SimulatedClaim,
  SimulatedClaimSelector,
} from '../SimulatorState';
import { Claim, ClaimHealth, isLive } from './logic';
import { ObjectStore } from './ObjectStore';

/**
 * Changes to running resources that the control plane did not ask for, as someone acting in
 * a cloud console would make them: drifted parameters, a degraded or failed resource.
 */
export class OutOfBandChanges {
  constructor(
    private readonly db: Knex,
    private readonly objects: ObjectStore,
    private readonly logger: LoggerService,
  ) {}

  /**
   * Changes the applied parameters of a resource out of band, as someone editing it in a
   * cloud console would: `observe` reports them from now on. A `null` value removes the
   * parameter. Throws `NotFoundError` when nothing of the resource runs.
   */
  async drift(
    selector: SimulatedClaimSelector,
    params: Record<string, unknown>,
  ): Promise<SimulatedClaim[]> {
    const changed = await this.changeLiveClaims(selector, (claim, now) => {
      const next = new Map(Object.entries(claim.params));
      for (const [key, value] of Object.entries(params)) {
        if (value === null) next.delete(key);
        else next.set(key, value);
      }
      return { params: Object.fromEntries(next), driftedAt: now };
    });
    this.logger.info(
      `simulator: drifted ${selector.ref} on ${changed
        .map(c => c.cluster)
        .join(', ')}: ${Object.keys(params).join(', ')}`,
    );
    return changed;
  }

  /**
   * Makes a resource degraded or failed, or recovers it (`ready`), as `observe` will report
   * it once provisioned. Throws `NotFoundError` when nothing of the resource runs.
   */
  async setHealth(
    selector: SimulatedClaimSelector,
    phase: 'ready' | 'degraded' | 'failed',
    message?: string,
  ): Promise<SimulatedClaim[]> {
    const health: ClaimHealth = phase === 'ready' ? 'healthy' : phase;
    const changed = await this.changeLiveClaims(selector, (_claim, now) => ({
      health,
      healthMessage: message,
      healthChangedAt: now,
    }));
    this.logger.info(
      `simulator: ${selector.ref} is now ${phase} on ${changed
        .map(c => c.cluster)
        .join(', ')}`,
    );
    return changed;
  }

  private async changeLiveClaims(
    selector: SimulatedClaimSelector,
    change: (claim: Claim, now: number) => Partial<Claim>,
  ): Promise<SimulatedClaim[]> {
    const changed = await this.db.transaction(async trx => {
      const now = DateTime.now().toMillis();
      const claims = (
        await this.objects.claimsOf(trx, selector.ref, {
          cluster: selector.cluster,
          lock: true,
        })
      ).filter(c => isLive(c, now));
      const result: Claim[] = [];
      for (const claim of claims) {
        const next = { ...claim, ...change(claim, now) };
        await this.objects.putClaim(trx, next);
        result.push(next);
      }
      return { claims: result, now };
    });
    if (changed.claims.length === 0) {
      throw new NotFoundError(
        `nothing of ${selector.ref} runs${
          selector.cluster ? ` on ${selector.cluster}` : ''
        } in the simulator`,
      );
    }
    return changed.claims.map(c => publicClaim(c, changed.now));
  }
}
