// The version of Parley's own API (/api/parley): the minor grows when it adds something, the
// major when it breaks a client. /healthz reports it, and the SDK (@parley/sdk, sdk/) is
// versioned `API_VERSION.<patch>`: an SDK 0.1.x speaks to a server reporting 0.1.
export const API_VERSION = '0.5';
