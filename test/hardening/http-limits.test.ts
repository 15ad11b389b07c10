import { describe, expect, it } from 'vitest';
import { REPO_ROOT, formatHttpLimitsReport, runHttpLimits } from '../../scripts/http-limits/http-limits.js';
import { ciForm } from '../helpers/ci-form.js';

// The CI form of `npm run http-limits` (scripts/http-limits): one Parley process, a backlog
// of big messages (1,500; 800 in CI, still several 1 MiB pages) caught up by 4 readers at
// once over REST, a dribbled and a stalled request body, and connections piled up from one
// address. The long form (10,000 messages, the
// default timeouts) prints the figures in README's Security section.

const MESSAGES = ciForm(1500, 800);

describe('expensive and slow clients are bounded (npm run http-limits, short form)', () => {
  it('catch-up answers ≤ MESSAGES_PAGE_MAX_BYTES, slow bodies cut at their timeouts, one address holds ≤ 256 connections', { timeout: 180_000 }, async () => {
    const report = await runHttpLimits({
      root: REPO_ROOT,
      messages: MESSAGES,
      size: 5000,
      clients: 4,
      bodyWaitS: 10,
      connections: 300,
      env: { HTTP_REQUEST_TIMEOUT_MS: '2000', HTTP_IDLE_TIMEOUT_MS: '1500' },
      log: () => {},
    });
    const text = formatHttpLimitsReport(report);
    console.log(text);
    const c = report.catchUp;
    expect(c.framesPerClient, text).toEqual([MESSAGES, MESSAGES, MESSAGES, MESSAGES]);
    // Pages of at most 1 MiB of frames (the answer adds a few bytes around them).
    expect(c.largestResponse, text).toBeLessThanOrEqual(1024 * 1024 + 1024);
    expect(c.requests, text).toBeGreaterThanOrEqual(4 * Math.ceil((MESSAGES * 5000) / (1024 * 1024)));
    // Four readers hold a page each at most: the process grows by a few pages, not by backlogs.
    expect(c.rssPeakMb - c.rssBeforeMb, text).toBeLessThan(96);
    expect(report.body.dribbledClosedAfterS, text).not.toBeNull();
    expect(report.body.dribbledClosedAfterS!, text).toBeLessThan(2 + 2);
    expect(report.body.stalledClosedAfterS, text).not.toBeNull();
    expect(report.body.stalledClosedAfterS!, text).toBeLessThan(1.5 + 2);
    // HTTP_MAX_CONNECTIONS_PER_ADDRESS's default: the readers' own keep-alive connections may hold a few of them.
    expect(report.connections.held, text).toBeLessThanOrEqual(256);
    expect(report.connections.held, text).toBeGreaterThanOrEqual(240);
  });
});
