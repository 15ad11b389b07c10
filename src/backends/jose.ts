/**
 * jose, imported at its first use (a token issued or checked, a push signed) rather than at
 * start: its 46 modules were a restart's cost for something no request had asked for yet.
 */
let loading: Promise<typeof import('jose')> | undefined;
export const loadJose = (): Promise<typeof import('jose')> => (loading ??= import('jose'));
