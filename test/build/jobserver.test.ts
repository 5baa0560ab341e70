// The job pool's extra slots for a tool that takes a fixed -jN (QEMU's ninja): it waits for slots
// that processes of ours hold (they end), but not for ever for slots held outside or by another
// such waiter, and every slot it took goes back.
import { afterEach, describe, expect, it } from "vitest";
import { JobServer } from "../../src/engine/jobserver.js";

let pool: JobServer | undefined;
afterEach(() => pool?.close());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("acquireExtra", () => {
  it("waits past its grace period for a slot another process of ours holds, the implicit one included", async () => {
    pool = JobServer.create(2);
    const other = await pool.acquire(); // the implicit slot (SeaBIOS's build)
    const own = await pool.acquire(); // the pool's one token (QEMU's build)
    const started = Date.now();
    const extra = pool.acquireExtra(1, 100);
    setTimeout(other, 600);
    const got = await extra;
    expect(got.count).toBe(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(550);
    got.release();
    own();
    // Both slots are back: two processes get one each at once.
    const a = await pool.acquire();
    const b = await Promise.race([pool.acquire(), sleep(500).then(() => undefined)]);
    expect(b).toBeTypeOf("function");
    a();
    b?.();
  });

  it("gives up after the grace period when no process of ours holds what is missing", async () => {
    pool = JobServer.create(3);
    const own = await pool.acquire();
    // Another client of the same pool (an enclosing make's job, another xqbuild) takes a token.
    const [r, w] = pool.stdio();
    const other = JobServer.join(`-j3 --jobserver-auth=${r},${w}`);
    const otherImplicit = await other?.acquire();
    const outside = await other?.acquire();
    const started = Date.now();
    const extra = await pool.acquireExtra(2, 200);
    expect(extra.count).toBe(1);
    expect(Date.now() - started).toBeLessThan(10_000); // without the grace period it would wait for ever
    extra.release();
    outside?.();
    otherImplicit?.();
    own();
  });

  it("does not wait for another waiter: one of two takes what there is, the other then waits for it to end", async () => {
    pool = JobServer.create(2);
    const a = await pool.acquire();
    const b = await pool.acquire();
    const p1 = pool.acquireExtra(1, 200);
    const p2 = pool.acquireExtra(1, 200);
    const first = await Promise.race([p1, sleep(3000).then(() => "stuck" as const)]);
    expect(first).not.toBe("stuck");
    if (first === "stuck") return;
    expect(first.count).toBe(0);
    // The first runs at -j1 on its own slot; when it ends, its slot is the second's.
    first.release();
    a();
    const second = await p2;
    expect(second.count).toBe(1);
    second.release();
    b();
  });
});

describe("othersDone", () => {
  it("resolves once no process of ours holds a slot, at once when none does", async () => {
    pool = JobServer.create(2);
    await pool.othersDone();
    const a = await pool.acquire();
    const b = await pool.acquire();
    let done = false;
    const p = pool.othersDone().then(() => (done = true));
    a();
    await sleep(50);
    expect(done).toBe(false);
    b();
    await p;
    expect(done).toBe(true);
  });
});

describe("the implicit slot", () => {
  it("goes into the pool when no process of ours waits for it, for a make below us to use", async () => {
    pool = JobServer.create(2);
    const a = await pool.acquire(); // the implicit slot
    const b = await pool.acquire(); // the token, given to a make below us (SeaBIOS's)
    a();
    // That make's next job reads a token from the pool: the implicit slot, now one.
    const [r, w] = pool.stdio();
    const below = JobServer.join(`-j2 --jobserver-auth=${r},${w}`);
    const ownSlot = await below?.acquire();
    const token = await Promise.race([below?.acquire(), sleep(1000).then(() => "none" as const)]);
    expect(token).toBeTypeOf("function");
    if (typeof token === "function") token();
    ownSlot?.();
    // It comes back to us as a token: our next process gets it.
    const c = await Promise.race([pool.acquire(), sleep(1000).then(() => "none" as const)]);
    expect(c).toBeTypeOf("function");
    if (typeof c === "function") c();
    b();
  });
});
