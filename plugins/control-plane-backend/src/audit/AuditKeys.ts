import {
  createHmac,
  createSecretKey,
  KeyObject,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/** What a key is used for: each use gets its own key, derived from the configured one. */
export type KeyPurpose = 'audit-chain' | 'commit-signature';

/** One audit key: its id (recorded beside what it keyed) and the derived keys. */
interface AuditKey {
  id: string;
  /** Imported once: importing a key for every MAC costs more than the MAC of a short text. */
  derived: Record<KeyPurpose, KeyObject>;
}

function hmac(key: KeyObject | Buffer | string, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

function toKey(secret: string): AuditKey {
  return {
    // Names the key without revealing it: old events name the key they were hashed with.
    id: hmac(secret, 'idp-multicloud key id').toString('hex').slice(0, 16),
    derived: {
      'audit-chain': createSecretKey(
        hmac(secret, 'idp-multicloud audit chain'),
      ),
      'commit-signature': createSecretKey(
        hmac(secret, 'idp-multicloud commit signature'),
      ),
    },
  };
}

/**
 * The audit keys: the current one, which keys new audit events and signs new commits, and the
 * previous ones, kept so events and commits made before a rotation still verify. The secret is
 * never used directly: each purpose has a key derived from it with HMAC-SHA256.
 */
export class AuditKeyring {
  private readonly current: AuditKey;
  private readonly byId: Map<string, AuditKey>;

  constructor(secret: string, previous: string[] = []) {
    if (secret.length < 16) {
      throw new Error('controlPlane.audit.key must be at least 16 characters');
    }
    this.current = toKey(secret);
    this.byId = new Map(
      [...previous.map(toKey), this.current].map(key => [key.id, key]),
    );
  }

  /** A keyring with a random key: for tests and tools, never persisted. */
  static random(): AuditKeyring {
    return new AuditKeyring(randomBytes(32).toString('hex'));
  }

  /** The id of the key new events and commits are made with. */
  get currentId(): string {
    return this.current.id;
  }

  /** Whether a key of that id is known. */
  has(id: string): boolean {
    return this.byId.has(id);
  }

  /** HMAC-SHA256 (hex) of `data` under the key of `id` for `purpose`; undefined if unknown. */
  mac(
    purpose: KeyPurpose,
    data: string,
    id: string = this.current.id,
  ): string | undefined {
    const key = this.byId.get(id);
    return key ? hmac(key.derived[purpose], data).toString('hex') : undefined;
  }

  /** Whether `mac` is the MAC of `data` under the key of `id`, compared in constant time. */
  check(purpose: KeyPurpose, data: string, id: string, mac: string): boolean {
    const expected = this.mac(purpose, data, id);
    if (!expected || expected.length !== mac.length) return false;
    return timingSafeEqual(Buffer.from(expected), Buffer.from(mac));
  }
}

/**
 * The keyring of the configured key, or, when none is configured, of a key generated once
 * and kept in `keyFile` (readable by the backend's user only), so a fresh install has a key.
 */
export async function loadAuditKeyring(options: {
  key?: string;
  previousKeys?: string[];
  keyFile: string;
  /**
   * Told when the key comes from `keyFile` while several replicas may share the database
   * (a remote state repository): each would have its own key.
   */
  warn?: (message: string) => void;
}): Promise<AuditKeyring> {
  const previous = options.previousKeys ?? [];
  if (options.key) return new AuditKeyring(options.key, previous);
  options.warn?.(
    `controlPlane.audit.key is not set: the audit key is the one in ${options.keyFile}. Replicas that share the database and state repository need one key: set controlPlane.audit.key on each, or their commits look pushed by hand to one another and /audit/verify names the events of the others' keys`,
  );
  try {
    return new AuditKeyring(
      (await readFile(options.keyFile, 'utf8')).trim(),
      previous,
    );
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await mkdir(dirname(options.keyFile), { recursive: true });
  const secret = randomBytes(32).toString('hex');
  try {
    // 'wx': when another process created it first, its key is the one.
    await writeFile(options.keyFile, `${secret}\n`, {
      mode: 0o600,
      flag: 'wx',
    });
    return new AuditKeyring(secret, previous);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return new AuditKeyring(
      (await readFile(options.keyFile, 'utf8')).trim(),
      previous,
    );
  }
}
