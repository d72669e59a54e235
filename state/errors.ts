/**
 * State-store errors carry a code and whether retrying can help (STYLE.md §8), so the runtime can decide
 * without parsing messages: a corrupt store is wiped and rebuilt from its changelog (retrying the same open is
 * pointless), a locked one is still held by another handle and must NOT be wiped (wait and retry).
 */
export type StoreErrorCode = 'STORE_CORRUPT' | 'STORE_LOCKED' | 'STORE_CLOSED' | 'SERDE_NOT_SYNC' | 'STORE_BUSY';

export class StoreError extends Error {
  override name = 'StoreError';
  constructor(
    readonly code: StoreErrorCode,
    message: string,
    readonly retriable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The database at `path` cannot be opened as it is (garbled CURRENT/MANIFEST, bad files, unreadable). */
export class StoreCorruptError extends StoreError {
  override name = 'StoreCorruptError';
  declare readonly code: 'STORE_CORRUPT';
  constructor(
    readonly path: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super('STORE_CORRUPT', `state store at ${path} is corrupt or cannot be opened: ${reason}`, false, options);
  }
}

/** Another handle (in this process or another) holds the database's LOCK file. */
export class StoreLockedError extends StoreError {
  override name = 'StoreLockedError';
  declare readonly code: 'STORE_LOCKED';
  constructor(
    readonly path: string,
    options?: { cause?: unknown },
  ) {
    super('STORE_LOCKED', `state store at ${path} is locked by another handle`, true, options);
  }
}
