const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Calls `launch` `perSecond` times a second for `seconds`, open-loop, catching up on timer lateness. */
export async function atRate(perSecond: number, seconds: number, launch: (index: number) => void): Promise<void> {
  const started = performance.now();
  let launched = 0;
  const total = Math.round(perSecond * seconds);
  while (launched < total) {
    const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * perSecond) + 1);
    while (launched < due) launch(launched++);
    await sleep(Math.max(1, 1000 / perSecond));
  }
}
