// A private tmux server for the tests that need a real terminal (a pty): the live view as a person
// sees it, read back with `tmux capture-pane`, keys sent as a person types them.
import { spawnSync } from "node:child_process";

export interface Tmux {
  /** tmux ARGS on this private server; throws with tmux's stderr when it fails. */
  run(args: string[]): string;
  /** What the session's pane shows, with its last `history` lines of scrollback. */
  screen(session: string): string;
  /** Waits (polling every 200 ms) until the pane shows re; throws with what it shows after ms. */
  waitFor(session: string, re: RegExp, ms: number): Promise<string>;
}

export function tmuxServer(socket: string, history = 300): Tmux {
  const run = (args: string[]): string => {
    const r = spawnSync("tmux", ["-L", socket, ...args], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`tmux ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  };
  const screen = (session: string): string => run(["capture-pane", "-p", "-J", "-S", `-${history}`, "-t", session]);
  return {
    run,
    screen,
    async waitFor(session, re, ms) {
      const end = Date.now() + ms;
      for (;;) {
        const text = screen(session);
        if (re.test(text)) return text;
        if (Date.now() > end) throw new Error(`the terminal never showed ${re}; it shows:\n${text}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    },
  };
}
