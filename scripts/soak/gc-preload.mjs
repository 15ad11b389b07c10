// Loaded into the soaked server (with --expose-gc): SIGUSR2 runs a full collection, so each
// sample's RSS and heap are measured after one and a leak is told apart from garbage not yet
// collected.
process.on('SIGUSR2', () => globalThis.gc?.());
