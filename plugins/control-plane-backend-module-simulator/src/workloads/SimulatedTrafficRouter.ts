import {
  parseTrafficRouting,
  TrafficCallContext,
  TrafficRouter,
  TrafficRouting,
  TrafficTarget,
} from '@idp-multicloud/plugin-control-plane-node';
import { Knex } from 'knex';
import { DateTime } from 'luxon';
import { canonicalJson } from '../simulation/logic';

/**
 * A resource's routing as the simulator keeps it.
 * @public
 */
export interface SimulatedRoute {
  target: TrafficTarget;
  routing: TrafficRouting;
}

/**
 * The simulator's traffic router (`simulator`): the routing of each resource, kept in the
 * control plane's database so a restart (or another replica) routes the same way. The
 * simulator's traffic generator sends every simulated request through it.
 * @public
 */
export class SimulatedTrafficRouter implements TrafficRouter {
  readonly id = 'simulator';

  constructor(private readonly db: Knex) {}

  async setRouting(
    target: TrafficTarget,
    routing: TrafficRouting,
    ctx: TrafficCallContext,
  ): Promise<TrafficRouting> {
    const parsed = parseTrafficRouting(routing, target);
    const row = {
      ref: target.ref,
      target: canonicalJson({
        ref: target.ref,
        namespace: target.namespace,
        name: target.name,
        cells: target.cells,
        ...(target.cluster ? { cluster: target.cluster } : {}),
      }),
      routing: canonicalJson(parsed),
      token: ctx.idempotencyToken,
      updated_at: DateTime.now().toMillis(),
    };
    await this.db('simulator_traffic_routes')
      .insert(row)
      .onConflict('ref')
      .merge(['target', 'routing', 'token', 'updated_at']);
    return parsed;
  }

  async getRouting(target: TrafficTarget): Promise<TrafficRouting | undefined> {
    return (await this.route(target.ref))?.routing;
  }

  /** The route of one resource, by ref. */
  async route(ref: string): Promise<SimulatedRoute | undefined> {
    const row = await this.db('simulator_traffic_routes')
      .where({ ref })
      .first();
    return row ? routeOf(row) : undefined;
  }

  /** Every routed resource: what the traffic generator serves. */
  async routes(): Promise<SimulatedRoute[]> {
    const rows = await this.db('simulator_traffic_routes').orderBy('ref');
    return rows.map(routeOf);
  }

  /** Stops routing a resource (its simulated traffic stops); whether it was routed. */
  async remove(ref: string): Promise<boolean> {
    return (
      (await this.db('simulator_traffic_routes').where({ ref }).delete()) > 0
    );
  }
}

function routeOf(row: { target: string; routing: string }): SimulatedRoute {
  return {
    target: JSON.parse(row.target) as TrafficTarget,
    routing: JSON.parse(row.routing) as TrafficRouting,
  };
}
