import { AuditLog } from '../audit/AuditLog';
import { CallContext } from '../context';
import { IdempotencyStore, IdempotentReplay } from './IdempotencyStore';

/** The answer of a command: its status and body, and whether it replays an earlier one. */
export interface CommandAnswer {
  status: number;
  body: unknown;
  replayed: boolean;
  /** The key's lease lapsed before the answer was stored: a retry holds the key now. */
  lapsed?: boolean;
}

/** One mutating request, as the API's pipeline hands it over. */
export interface Command<T> {
  ctx: CallContext;
  /** What the audit log records of it. */
  action: string;
  target: () => string;
  /** The caller's Idempotency-Key, or one made for it; none: the command runs as sent. */
  key?: string;
  /** Identifies the request, so that a key reused for another one is refused (422). */
  fingerprint: string;
  /** Checks against the current state; runs after a replay is ruled out, before the key is claimed. */
  check: () => Promise<T>;
  run: (checked: T) => Promise<{ status: number; body: unknown }>;
}

/**
 * The one idempotency boundary of the API: a command's key maps to its first answer. The same
 * key and request replay that answer with no new side effect (and an audit event saying so);
 * the key with another request is a 422; while the first runs, a 409.
 *
 * Crash recovery. A backend can die after a command's side effect and before its answer is
 * stored; the key's lease then lapses and the client's retry runs the command again. Two
 * side effects must not repeat, and each is found again by the key it was made under:
 *
 * - a commit to the state repository carries the key in its `Idempotency-Key` trailer, indexed
 *   into `state_changes`: `ChangeService` answers the retry with that commit instead of a new
 *   one (within the key's retention);
 * - an operation is created in the same transaction that records it under the key
 *   (`IdempotencyStore.recordOperation`): `ResourceService.operate` answers the retry with it.
 *
 * Those two lookups are crash recovery only; every other replay is decided here.
 */
export class CommandService {
  constructor(
    private readonly options: { store: IdempotencyStore; audit: AuditLog },
  ) {}

  async execute<T>(command: Command<T>): Promise<CommandAnswer> {
    const { store } = this.options;
    const { ctx, key } = command;
    if (!key) {
      const checked = await command.check();
      return { ...(await command.run(checked)), replayed: false };
    }
    const earlier = await store.peek(ctx.actor, key, command.fingerprint);
    if (earlier) return this.replay(command, earlier);
    const checked = await command.check();
    const decision = await store.begin(ctx.actor, key, command.fingerprint);
    if (decision.kind === 'replay') return this.replay(command, decision);
    let result;
    try {
      result = await command.run(checked);
    } catch (error) {
      await store.release(ctx.actor, key, decision.lease);
      throw error;
    }
    const stored = await store.complete(
      ctx.actor,
      key,
      decision.lease,
      result.status,
      result.body,
    );
    return { ...result, replayed: false, ...(stored ? {} : { lapsed: true }) };
  }

  private async replay<T>(
    command: Command<T>,
    first: IdempotentReplay,
  ): Promise<CommandAnswer> {
    const { ctx } = command;
    await this.options.audit.append({
      actor: ctx.actor,
      action: command.action,
      target: command.target(),
      outcome: first.status < 400 ? 'accepted' : 'rejected',
      reason: `replayed the first response (${first.status}) to Idempotency-Key ${command.key}`,
      source: ctx.source,
      requestId: ctx.requestId,
    });
    return { status: first.status, body: first.body, replayed: true };
  }
}
