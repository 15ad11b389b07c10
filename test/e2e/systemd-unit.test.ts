import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

// deploy/parley.service checked by systemd's own parser (`systemd-analyze verify`, from the
// systemd package), with its paths pointed at this checkout and this node so that the
// executable it names exists here.
const ROOT = path.resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(path.join(tmpdir(), 'parley-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const shipped = readFileSync(path.join(ROOT, 'deploy/parley.service'), 'utf8');

function verify(unit: string): { status: number | null; out: string } {
  const file = path.join(dir, 'parley.service');
  writeFileSync(file, unit.replaceAll('/usr/bin/node', process.execPath).replaceAll('/opt/parley', ROOT));
  const r = spawnSync('systemd-analyze', ['verify', '--man=no', file], { encoding: 'utf8' });
  if (r.error) throw new Error(`cannot run systemd-analyze (apt-get install systemd): ${r.error.message}`);
  return { status: r.status, out: (r.stdout + r.stderr).trim() };
}

/** Every `Key=value` of the [Service] section. */
function serviceSettings(unit: string): Map<string, string[]> {
  const section = unit.split(/^\[Service\]$/m)[1]!.split(/^\[/m)[0]!;
  const settings = new Map<string, string[]>();
  for (const line of section.split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (m) settings.set(m[1]!, [...(settings.get(m[1]!) ?? []), m[2]!]);
  }
  return settings;
}

describe('deploy/parley.service', () => {
  it('passes systemd-analyze verify without a single warning', () => {
    expect(verify(shipped)).toEqual({ status: 0, out: '' });
  });

  it('the check is not blind: a bad value is reported', () => {
    expect(verify(shipped.replace('ProtectSystem=strict', 'ProtectSystem=sometimes')).out).toMatch(/Failed to parse protect system value/);
  });

  it('is hardened: its own dynamic user, a read-only system, no privilege gain, one private writable state directory', () => {
    const s = serviceSettings(shipped);
    for (const [key, value] of Object.entries({
      DynamicUser: 'yes',
      ProtectSystem: 'strict',
      ProtectHome: 'yes',
      PrivateTmp: 'yes',
      NoNewPrivileges: 'yes',
      StateDirectory: 'parley',
      StateDirectoryMode: '0700',
      CapabilityBoundingSet: '',
      KillSignal: 'SIGTERM',
    })) {
      expect(s.get(key), key).toEqual([value]);
    }
    // Parley writes only where StateDirectory points it.
    expect(s.get('Environment')!.join(' ')).toContain('DATA_DIR=/var/lib/parley');
    expect(s.get('ExecStart')).toEqual(['/usr/bin/node /opt/parley/dist/main.js']);
  });
});
