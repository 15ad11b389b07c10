/** The one fixed wait of the suite: for what has no condition to wait for (a clock to pass, a quiet period). */
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
