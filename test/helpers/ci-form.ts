/**
 * The long suites (faults, fuzz, crash, properties) run a shorter seeded form in CI
 * (`.ci/run` sets CI=true) than on a developer's machine, and their full forms stay in the
 * npm scripts (`npm run fault`, `fuzz`, `crash`, `oracle`...). The CI form keeps every kind of
 * fault, input and action; it has fewer of them. An explicit environment override wins over both.
 */
export const IN_CI = Boolean(process.env.CI) && process.env.CI !== 'false';

/** `ci` under CI=true, else `local`. */
export function ciForm<T>(local: T, ci: T): T {
  return IN_CI ? ci : local;
}
