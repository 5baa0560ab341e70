import type { Reporter } from "./events.js";
import type { Output } from "./output.js";
import { jsonReporter, plainReporter } from "./plain.js";

/** How the user asked for the run to be shown: --json, --verbose, --quiet. */
export interface ReporterChoice {
  readonly json: boolean;
  readonly verbose: boolean;
  readonly quiet: boolean;
  /**
   * The command does work (fetches, builds, cleans): a live view on a terminal, NDJSON events with
   * --json. The others answer with a document (plan, config, status, doctor, cache).
   */
  readonly live: boolean;
  /**
   * The plain reporter's heartbeat interval in seconds (0: none); its default when not given.
   * XQBUILD_HEARTBEAT_SECONDS sets it: read by config/env.ts (reporterEnv), passed by cli/main.ts.
   */
  readonly heartbeatSeconds?: number;
}

/** NDJSON with --json; the live view on a terminal (listr2, loaded only then); plain lines otherwise. */
export async function makeReporter(output: Output, how: ReporterChoice): Promise<Reporter> {
  if (how.json) return jsonReporter(output, { document: !how.live });
  if (how.live && output.interactive && !how.verbose && !how.quiet) {
    const { ttyReporter } = await import("./tty.js");
    return ttyReporter(output);
  }
  return plainReporter(output, { verbose: how.verbose, quiet: how.quiet, ...(how.heartbeatSeconds !== undefined ? { heartbeatSeconds: how.heartbeatSeconds } : {}) });
}
