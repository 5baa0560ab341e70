import { throwIfInterrupted } from "./signals.js";
import { gitMessage, isTransient } from "../source/git.js";

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  readonly attempts: number;
  readonly baseDelayMs: number;
  /** No new attempt starts after this much time. */
  readonly maxTotalMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 1000, maxTotalMs: 120_000 };

/**
 * Runs a network operation, retrying with exponential backoff only when the failure is of the
 * network (refused, reset, timed out, 5xx); "not found" fails at once.
 */
export async function withRetry<T>(what: string, policy: RetryPolicy, fn: () => Promise<T>, onRetry?: (msg: string) => void): Promise<T> {
  const started = Date.now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      // An interrupted attempt is not a network failure to retry.
      throwIfInterrupted();
      const msg = gitMessage(e);
      const delay = policy.baseDelayMs * 2 ** (attempt - 1);
      if (attempt >= policy.attempts || !isTransient(msg) || Date.now() - started + delay > policy.maxTotalMs) throw e;
      onRetry?.(`${what}: ${msg.split("\n")[0]}; retrying in ${(delay / 1000).toFixed(1)} s (attempt ${attempt + 1} of ${policy.attempts})`);
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}
