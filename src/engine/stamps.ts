import { readFileSync } from "node:fs";
import path from "node:path";
import { removeInside, writeFileAtomic } from "../util/fs.js";

/**
 * A stage's stamp: the fingerprint of the inputs it last completed with. The old stamp is removed
 * before a stage runs and a new one written only after it succeeds, so a failed or interrupted stage
 * never looks done.
 */
export interface Stamp {
  readonly fingerprint: string;
  readonly finishedAt: string;
  readonly inputs: unknown;
  /** The -jN a tool that takes a fixed one (QEMU's ninja) ran with: what the budget gave it. */
  readonly jobs?: number;
}

export class Stamps {
  /**
   * dir holds the stamps; root (default: dir's parent, the tree's .xqbuild) is what no stamp
   * removal or write may leave through a symbolic link.
   */
  constructor(
    private readonly dir: string,
    private readonly root: string = path.dirname(dir),
  ) {}

  file(component: string, stage: string): string {
    return path.join(this.dir, component, `${stage}.json`);
  }

  read(component: string, stage: string): Stamp | undefined {
    try {
      return JSON.parse(readFileSync(this.file(component, stage), "utf8")) as Stamp;
    } catch {
      return undefined;
    }
  }

  upToDate(component: string, stage: string, fp: string): boolean {
    return this.read(component, stage)?.fingerprint === fp;
  }

  async clear(component: string, stage?: string): Promise<void> {
    await removeInside(stage ? this.file(component, stage) : path.join(this.dir, component), this.root, "the stamp");
  }

  async write(component: string, stage: string, fp: string, inputs: unknown, ran: { readonly jobs?: number } = {}): Promise<void> {
    const stamp: Stamp = { fingerprint: fp, finishedAt: new Date().toISOString(), inputs, ...ran };
    await writeFileAtomic(this.file(component, stage), JSON.stringify(stamp, null, 2) + "\n", this.root, "the stamp");
  }
}
