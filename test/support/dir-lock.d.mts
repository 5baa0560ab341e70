export declare function pidAlive(pid: number): boolean;

export interface DirLockOptions {
  /** Give up waiting after this long (default: an hour). */
  readonly timeoutMs?: number;
  /** A lock without a pid file older than this is stale (default 10 s). */
  readonly staleMs?: number;
  /** How often to look again while waiting (default 500 ms). */
  readonly pollMs?: number;
  /** Told when a stale lock is removed and (once) when it waits. */
  readonly log?: (message: string) => void;
  /** Called with the message when the wait times out; must throw (default: throws an Error). */
  readonly fail?: (message: string) => never;
}

/** Takes the mkdir lock `lock` (waiting for a live holder, taking over a dead one's); returns release(). */
export declare function acquireDirLock(lock: string, opts?: DirLockOptions): () => void;
