// Counts requests that are still decoding and will soon add rows to a table
// queue. A queue about to start an insert waits (briefly, up to a linger
// bound) for them, so concurrent requests share one insert instead of
// trickling in one by one: each ClickHouse insert has a fixed cost (a new
// part, later merged), so fewer, larger inserts mean more samples per second.
export class ProducerGate {
  private active = 0;
  private waiters: (() => void)[] = [];

  /** Marks one producer active; the returned function (idempotent) marks it done. */
  enter(): () => void {
    this.active++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      if (--this.active === 0) {
        const w = this.waiters;
        this.waiters = [];
        for (const f of w) f();
      }
    };
  }

  get count(): number {
    return this.active;
  }

  /** Resolves when no producer is active, or after maxWaitMs. */
  idle(maxWaitMs: number): Promise<void> {
    if (this.active === 0 || maxWaitMs <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(resolve, maxWaitMs);
      this.waiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }
}
