import { afterEach, describe, expect, it } from 'vitest';
import { startParley, type TestServer } from '../helpers/parley.js';

// /metrics tells anyone who can reach it how busy the server is, how many sockets it holds
// and what runs it (process and Node metrics): it is not public. METRICS_TOKEN (a bearer
// token) opens it on the main listener; METRICS_PORT serves it on a listener of its own
// (METRICS_HOST, 127.0.0.1 by default). Without either, the main port has no /metrics.

describe('/metrics is not public', () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('with neither METRICS_TOKEN nor METRICS_PORT: 404 on the main port', async () => {
    server = await startParley();
    const res = await fetch(`${server.url}/metrics`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ detail: 'Not Found' });
    expect(server.parley.metricsUrl).toBeNull();
  });

  it('METRICS_TOKEN: 401 without it or with another, Prometheus text with it', async () => {
    server = await startParley({ env: { METRICS_TOKEN: 'metrics-token-of-this-test' } });
    const anon = await fetch(`${server.url}/metrics`);
    expect(anon.status).toBe(401);
    expect(anon.headers.get('www-authenticate')).toBe('Bearer');
    expect(await anon.json()).toEqual({ detail: 'Not authenticated' });
    for (const wrong of ['metrics-token-of-this-tesT', 'metrics-token-of-this-test-and-more', '']) {
      expect((await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${wrong}` } })).status).toBe(401);
    }
    // The token is not a query parameter: it would end up in proxies' logs.
    expect((await fetch(`${server.url}/metrics?token=metrics-token-of-this-test`)).status).toBe(401);
    const ok = await fetch(`${server.url}/metrics`, { headers: { authorization: 'Bearer metrics-token-of-this-test' } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toMatch(/^parley_connections 0$/m);
  });

  it('METRICS_PORT: a listener of its own on 127.0.0.1 serves it; the main port still does not', async () => {
    server = await startParley({ env: { METRICS_PORT: '0' } });
    const metricsUrl = server.parley.metricsUrl!;
    expect(new URL(metricsUrl).hostname).toBe('127.0.0.1');
    expect(new URL(metricsUrl).port).not.toBe(new URL(server.url).port);
    const res = await fetch(`${metricsUrl}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await res.text()).toMatch(/^parley_process_resident_memory_bytes \d+/m);
    expect((await fetch(`${metricsUrl}/api/auth/me`)).status).toBe(404);
    expect((await fetch(`${server.url}/metrics`)).status).toBe(404);
  });

  it('METRICS_PORT with METRICS_TOKEN: the token is asked there too', async () => {
    server = await startParley({ env: { METRICS_PORT: '0', METRICS_TOKEN: 'both' } });
    const metricsUrl = server.parley.metricsUrl!;
    expect((await fetch(`${metricsUrl}/metrics`)).status).toBe(401);
    expect((await fetch(`${metricsUrl}/metrics`, { headers: { authorization: 'Bearer both' } })).status).toBe(200);
  });
});
