import { throwIfInterrupted } from "./signals.js";

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  readonly attempts: number;
  readonly baseDelayMs: number;
  /** No new attempt starts after this much time. */
  readonly maxTotalMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 1000, maxTotalMs: 120_000 };

export interface RetryHooks {
  /** Whether a failure is of the network (refused, reset, timed out, 5xx), worth another attempt. */
  readonly transient: (e: unknown) => boolean;
  /** Told before each new attempt, with a line saying why and when. */
  readonly onRetry?: (msg: string) => void;
}

/**
 * Runs a network operation, retrying with exponential backoff only when `hooks.transient` says the
 * failure is of the network; "not found" fails at once. The caller's classifier reads its own
 * typed errors (a GitError, an HTTP status), so nothing here reads an error's text.
 */
export async function withRetry<T>(what: string, policy: RetryPolicy, fn: () => Promise<T>, hooks: RetryHooks): Promise<T> {
  const started = Date.now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      // An interrupted attempt is not a network failure to retry.
      throwIfInterrupted();
      const delay = policy.baseDelayMs * 2 ** (attempt - 1);
      if (attempt >= policy.attempts || !hooks.transient(e) || Date.now() - started + delay > policy.maxTotalMs) throw e;
      const first = (e instanceof Error ? e.message : String(e)).split("\n").find((l) => l.trim() !== "" && !/^(hint|warning):/.test(l.trim())) ?? "";
      hooks.onRetry?.(`${what}: ${first.trim()}; retrying in ${(delay / 1000).toFixed(1)} s (attempt ${attempt + 1} of ${policy.attempts})`);
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}
