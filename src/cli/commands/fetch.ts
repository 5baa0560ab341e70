import { fetchSources } from "../../source/fetch.js";
import { fetchOptionsOf, loadConfig, type CommandContext } from "../context.js";

/** `xqbuild fetch [component...]` and `xqbuild update [--force]`. */
export async function fetchCommand(ctx: CommandContext, opts: { readonly update: boolean }): Promise<number> {
  const config = await loadConfig(ctx);
  await fetchSources(config, fetchOptionsOf(ctx, opts.update));
  return 0;
}
