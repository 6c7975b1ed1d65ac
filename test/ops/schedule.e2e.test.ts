import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, runCli } from '../support/cli.js';

/**
 * `schedule --install` through the built CLI against a crontab program that
 * keeps the table in a file (the machine running the tests has no cron
 * daemon): what is installed, what `status` reads back without asking cron,
 * what `doctor` finds when the table no longer has it, and the proxy carried
 * into the runs' environment without its password in sight.
 */

const PROXY_PASSWORD = 'Proxy-Pass-4471';
let dir: string;
let home: string;
let env: NodeJS.ProcessEnv;
const table = () => (existsSync(join(dir, 'crontab.txt')) ? readFileSync(join(dir, 'crontab.txt'), 'utf8') : '');

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'erp-sync-schedule-'));
  home = join(dir, 'home');
  const crontab = join(dir, 'bin', 'crontab');
  mkdirSync(join(dir, 'bin'));
  writeFileSync(
    crontab,
    `#!/bin/sh
table="${join(dir, 'crontab.txt')}"
case "$1" in
  -l) [ -f "$table" ] && exec cat "$table"; echo "no crontab for $(id -un)" >&2; exit 1 ;;
  -) cat > "$table" ;;
  *) exit 2 ;;
esac
`,
  );
  chmodSync(crontab, 0o755);
  writeFileSync(join(dir, 'crontab.txt'), 'MAILTO=ops@example.com\n0 3 * * * /usr/local/bin/backup\n');
  env = {
    ERP_SYNC_HOME: home, PATH: `${join(dir, 'bin')}:${process.env.PATH}`, LANG: 'C', NO_COLOR: '1',
    HTTPS_PROXY: `http://shop:${PROXY_PASSWORD}@proxy.example:3128`, NO_PROXY: 'localhost,127.0.0.1',
  };
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('erp-sync schedule --install', () => {
  it('adds its crontab line beside the others, carries the proxy in a 0600 file, and status reads it back', async () => {
    const installed = await runCli(['schedule', '--cron', '--every', '30m', '--install'], env);
    expect(installed.code, installed.stderr).toBe(0);
    expect(installed.stderr).toContain('Added to the crontab');
    expect(installed.stderr).toContain(`The scheduled runs get HTTPS_PROXY, NO_PROXY as set here, from ${join(home, 'schedule.env')}`);
    expect(installed.stdout + installed.stderr).not.toContain(PROXY_PASSWORD);

    const lines = table().trim().split('\n');
    expect(lines.slice(0, 2)).toEqual(['MAILTO=ops@example.com', '0 3 * * * /usr/local/bin/backup']);
    expect(lines[2]).toMatch(new RegExp(`^\\d{1,2}-59/30 \\* \\* \\* \\* ERP_SYNC_HOME='${home}' .*'--env-file=${join(home, 'schedule.env')}' '/[^']+erp-sync\\.js' run --quiet # erp-sync schedule$`));
    expect(lines[2]).not.toContain(PROXY_PASSWORD);
    const environment = join(home, 'schedule.env');
    expect(statSync(environment).mode & 0o777).toBe(0o600);
    expect(readFileSync(environment, 'utf8')).toBe(`HTTPS_PROXY="http://shop:${PROXY_PASSWORD}@proxy.example:3128"\nNO_PROXY="localhost,127.0.0.1"\n`);

    const status = json<{ schedule: { kind: string; when: string } | null }>(await runCli(['status', '--json'], env));
    expect(status.schedule).toMatchObject({ kind: 'cron', when: lines[2]!.split(' ').slice(0, 5).join(' ') });
    const text = await runCli(['status'], env);
    expect(text.stdout).toMatch(/Schedule: crontab \(\d{1,2}-59\/30 \* \* \* \*\)/);

    const doctor = json<{ checks: { id: string; status: string; message: string }[] }>(await runCli(['doctor', '--json'], env));
    expect(doctor.checks.find((c) => c.id === 'schedule')).toMatchObject({ status: 'ok', message: expect.stringContaining('cron') });
  });

  it('doctor says when the system lost the schedule status still shows, and --remove takes out only its own line', async () => {
    writeFileSync(join(dir, 'crontab.txt'), 'MAILTO=ops@example.com\n0 3 * * * /usr/local/bin/backup\n');
    const doctor = json<{ checks: { id: string; status: string; message: string }[] }>(await runCli(['doctor', '--json'], env));
    expect(doctor.checks.find((c) => c.id === 'schedule')).toMatchObject({
      status: 'warn',
      message: expect.stringMatching(/^erp-sync installed a cron schedule \(\d{1,2}-59\/30 \* \* \* \*\) for this home, but the system no longer has it/),
    });

    expect((await runCli(['schedule', '--cron', '--install'], env)).code).toBe(0);
    const removed = await runCli(['schedule', '--cron', '--remove'], env);
    expect(removed.code).toBe(0);
    expect(removed.stderr).toContain('Removed the erp-sync line from the crontab');
    expect(table()).toBe('MAILTO=ops@example.com\n0 3 * * * /usr/local/bin/backup\n');
    expect(existsSync(join(home, 'schedule.env'))).toBe(false);
    expect(json<{ schedule: unknown }>(await runCli(['status', '--json'], env)).schedule).toBeNull();
    expect((await runCli(['schedule', '--cron', '--remove'], env)).stderr).toContain('No erp-sync schedule was installed.');
  });

  it('prints the Windows task here, and installs it only on Windows', async () => {
    const printed = await runCli(['schedule', '--windows', '--every', '1h'], env);
    expect(printed.code).toBe(0);
    expect(printed.stdout).toMatch(/<Interval>PT1H<\/Interval>/);
    expect(printed.stdout).toMatch(/<MultipleInstancesPolicy>IgnoreNew<\/MultipleInstancesPolicy>/);
    expect(printed.stderr).toContain('/RP *');
    expect(printed.stdout + printed.stderr).not.toContain(PROXY_PASSWORD);
    const refused = await runCli(['schedule', '--windows', '--install'], env);
    expect(refused.code).toBe(64);
    expect(refused.stderr).toContain('a Task Scheduler task can be installed on Windows only');
  });
});
