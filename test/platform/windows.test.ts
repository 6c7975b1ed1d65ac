import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { homedir } from 'node:os';
import { resolveHome } from '../../src/config/home.js';
import { detectLanguage } from '../../src/i18n/index.js';
import { installedSchedule } from '../../src/schedule/installed.js';
import { checkLength } from '../../src/secrets/keychain.js';
import { environmentFile, envFileArgument, hostOffset, scheduleTarget } from '../../src/schedule/plan.js';
import {
  decodeSchtasksOutput, intervalOf, schtasksCreate, taskDuration, taskFile, taskXml, windowsAccount, windowsArgument,
} from '../../src/schedule/windows.js';
import { hasCommands, requireTool } from '../support/requirements.js';

/**
 * No Windows machine runs these tests: what is checked is what erp-sync
 * hands to Windows (the task file schtasks reads, the command lines, the
 * environment file node.exe reads) and every choice that depends on the
 * platform.
 */

const dir = mkdtempSync(join(tmpdir(), 'erp-sync-windows-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const home = 'C:\\Users\\Ayşe & Ali\\AppData\\Local\\erp-sync';
const run = {
  node: 'C:\\Program Files\\nodejs\\node.exe',
  cli: 'C:\\Users\\Ayşe & Ali\\AppData\\Roaming\\npm\\node_modules\\erp-sync\\bin\\erp-sync.js',
  home,
  lang: undefined,
  user: 'ayse',
};
const task = (minutes: number, text: string) => taskXml({ interval: { minutes, text }, run, account: 'DUKKAN\\Ayşe', environmentFile: `${home}\\schedule.env` });

/**
 * Splits a command line as the Microsoft C runtime does for node.exe
 * (backslashes count only before a quote), to read back what the task hands it.
 */
function splitLikeWindows(line: string): string[] {
  const args: string[] = [];
  let current = '';
  let quoted = false;
  let started = false;
  for (let i = 0; i < line.length; i++) {
    const char = line[i]!;
    if (char === '\\') {
      let count = 0;
      while (line[i] === '\\') {
        count++;
        i++;
      }
      if (line[i] === '"') {
        current += '\\'.repeat(Math.floor(count / 2));
        if (count % 2 === 1) current += '"';
        else quoted = !quoted;
      } else {
        current += '\\'.repeat(count);
        i--;
      }
      started = true;
    } else if (char === '"') {
      quoted = !quoted;
      started = true;
    } else if (/\s/.test(char) && !quoted) {
      if (started) args.push(current);
      current = '';
      started = false;
    } else {
      current += char;
      started = true;
    }
  }
  if (started) args.push(current);
  return args;
}

const xmllint = requireTool('xmllint', () => hasCommands('xmllint'), 'apt-get install libxml2-utils');

describe('the Task Scheduler task', () => {
  it.runIf(xmllint)('is a well-formed UTF-16 LE file with its byte order mark, as schtasks /XML reads it', () => {
    const file = join(dir, 'task.xml');
    const bytes = taskFile(task(15, '15m'));
    writeFileSync(file, bytes);
    expect([...bytes.subarray(0, 4)]).toEqual([0xff, 0xfe, 0x3c, 0x00]);
    expect(bytes.subarray(2).toString('utf16le')).toMatch(/^<\?xml version="1\.0" encoding="UTF-16"\?>\r\n<Task version="1\.2" xmlns="http:\/\/schemas\.microsoft\.com\/windows\/2004\/02\/mit\/task">/);
    const lint = spawnSync('xmllint', ['--noout', file], { encoding: 'utf8' });
    expect(lint.stderr).toBe('');
    expect(lint.status).toBe(0);

    const value = (name: string) => spawnSync('xmllint', ['--xpath', `string(//*[local-name()='${name}'])`, file], { encoding: 'utf8' }).stdout.replace(/\n$/, '');
    // Every 15 minutes, never a second instance, whether anyone is logged on or not, with the password Task Scheduler keeps.
    expect(value('Interval')).toBe('PT15M');
    expect(value('StopAtDurationEnd')).toBe('false');
    expect(value('MultipleInstancesPolicy')).toBe('IgnoreNew');
    expect(value('LogonType')).toBe('Password');
    expect(value('UserId')).toBe('DUKKAN\\Ayşe');
    expect(value('RunLevel')).toBe('LeastPrivilege');
    expect(value('StartWhenAvailable')).toBe('true');
    expect(value('DisallowStartIfOnBatteries')).toBe('false');
    expect(value('ExecutionTimeLimit')).toBe('PT3H');
    // Started in the home, with node.exe reading the home's environment file first.
    expect(value('Command')).toBe(run.node);
    expect(value('WorkingDirectory')).toBe(home);
    expect(splitLikeWindows(value('Arguments'))).toEqual([`--env-file=${home}\\schedule.env`, run.cli, 'run', '--quiet']);
    const start = value('StartBoundary');
    expect(start).toMatch(/^2024-01-01T00:\d\d:00$/);
    expect(Number(start.slice(14, 16))).toBe(hostOffset(15));
  });

  it.runIf(xmllint)('repeats every few hours, or once a day', () => {
    for (const [minutes, text, duration] of [[120, '2h', 'PT2H'], [1440, '24h', 'P1D'], [5, '5m', 'PT5M']] as const) {
      const file = join(dir, `task-${text}.xml`);
      writeFileSync(file, taskFile(task(minutes, text)));
      expect(spawnSync('xmllint', ['--noout', file]).status).toBe(0);
      expect(spawnSync('xmllint', ['--xpath', "string(//*[local-name()='Interval'])", file], { encoding: 'utf8' }).stdout.trim()).toBe(duration);
    }
  });

  it('reads its interval back as erp-sync writes it', () => {
    expect([taskDuration(15), taskDuration(60), taskDuration(720), taskDuration(1440)]).toEqual(['PT15M', 'PT1H', 'PT12H', 'P1D']);
    expect(intervalOf(task(15, '15m'))).toBe('15m');
    expect(intervalOf(task(120, '2h'))).toBe('2h');
    expect(intervalOf(task(1440, '24h'))).toBe('24h');
    expect(intervalOf('<Task/>')).toBeUndefined();
  });

  it('is registered with the account and a password schtasks asks for', () => {
    expect(schtasksCreate('C:\\x\\erp-sync-task.xml', 'DUKKAN\\Ayşe')).toEqual(['/Create', '/TN', 'erp-sync', '/XML', 'C:\\x\\erp-sync-task.xml', '/RU', 'DUKKAN\\Ayşe', '/RP', '*', '/F']);
    expect(windowsAccount({ USERDOMAIN: 'DUKKAN', USERNAME: 'kasa' }, 'x')).toBe('DUKKAN\\kasa');
    expect(windowsAccount({ USERNAME: 'kasa' }, 'x')).toBe('kasa');
    expect(windowsAccount({}, 'root')).toBe('root');
  });

  it('reads what schtasks prints, in UTF-16 or in the console code page', () => {
    const xml = '<Task><Repetition><Interval>PT30M</Interval></Repetition></Task>';
    expect(intervalOf(decodeSchtasksOutput(taskFile(xml)))).toBe('30m');
    expect(intervalOf(decodeSchtasksOutput(Buffer.from(xml, 'utf16le')))).toBe('30m');
    expect(intervalOf(decodeSchtasksOutput(Buffer.from(xml, 'latin1')))).toBe('30m');
  });

  it('quotes arguments the way node.exe splits them again', () => {
    for (const arg of ['plain', 'C:\\Program Files\\nodejs\\node.exe', 'C:\\dir with space\\', 'say "hi"', 'a\\\\"b', '', 'Ayşe & Ali']) {
      expect(splitLikeWindows(windowsArgument(arg))).toEqual([arg]);
    }
    expect(windowsArgument('C:\\erp-sync\\bin\\erp-sync.js')).toBe('C:\\erp-sync\\bin\\erp-sync.js');
    expect(windowsArgument('C:\\dir with space\\')).toBe('"C:\\dir with space\\\\"');
  });
});

describe('the environment file of scheduled runs', () => {
  it('is read back exactly by node --env-file: Windows paths keep their backslashes, a proxy URL its password', () => {
    const file = join(dir, 'schedule.env');
    const values = { ERP_SYNC_HOME: home, HTTPS_PROXY: 'http://shop:S3cret%40x@proxy.corp:3128', NO_PROXY: 'localhost,127.0.0.1,.corp' };
    writeFileSync(file, environmentFile(values));
    const read = spawnSync(process.execPath, [envFileArgument(file), '-e', 'process.stdout.write(JSON.stringify([process.env.ERP_SYNC_HOME, process.env.HTTPS_PROXY, process.env.NO_PROXY]))'], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH },
    });
    expect(read.stderr).toBe('');
    expect(JSON.parse(read.stdout)).toEqual(Object.values(values));
  });
});

describe('what the platform decides', () => {
  it('keeps the data in the local application data on Windows, not the roaming profile', () => {
    const env = { LOCALAPPDATA: 'C:\\Users\\kasa\\AppData\\Local', APPDATA: 'C:\\Users\\kasa\\AppData\\Roaming', USERPROFILE: 'C:\\Users\\kasa' };
    expect(resolveHome(env, 'win32')).toBe('C:\\Users\\kasa\\AppData\\Local\\erp-sync');
    expect(resolveHome({ USERPROFILE: 'C:\\Users\\kasa' }, 'win32')).toBe('C:\\Users\\kasa\\AppData\\Local\\erp-sync');
    expect(resolveHome({ ...env, ERP_SYNC_HOME: 'D:\\erp-sync' }, 'win32')).toBe('D:\\erp-sync');
    expect(resolveHome({ XDG_DATA_HOME: '/srv/data' }, 'linux')).toBe('/srv/data/erp-sync');
    expect(resolveHome({}, 'linux')).toBe(`${homedir()}/.local/share/erp-sync`);
    expect(resolveHome({}, 'darwin')).toBe(`${homedir()}/Library/Application Support/erp-sync`);
  });

  it('speaks the language of LC_ALL, LC_MESSAGES or LANG, and where none is set (Windows) that of the system', () => {
    expect(detectLanguage({ LANG: 'tr_TR.UTF-8' }, () => 'en-US')).toBe('tr');
    expect(detectLanguage({ LANG: 'en_US.UTF-8', LC_ALL: 'tr_TR.UTF-8' }, () => 'en-US')).toBe('tr');
    expect(detectLanguage({ LANG: 'C' }, () => 'tr-TR')).toBe('en');
    expect(detectLanguage({}, () => 'tr-TR')).toBe('tr');
    expect(detectLanguage({}, () => 'en-GB')).toBe('en');
  });

  it('refuses a secret longer than Windows Credential Manager keeps, naming it, before the keychain garbles the answer', () => {
    const long = 'x'.repeat(1281);
    expect(() => checkLength('shop', 'token', long, 'win32')).toThrow('token of shop has 1,281 characters; Windows Credential Manager keeps at most 1,280');
    expect(() => checkLength('shop', 'token', 'x'.repeat(1280), 'win32')).not.toThrow();
    expect(() => checkLength('shop', 'token', long, 'linux')).not.toThrow();
  });

  it('Task Scheduler on Windows, systemd where it runs, cron elsewhere; a flag chooses another', () => {
    expect(scheduleTarget({}, 'win32', false)).toBe('windows');
    expect(scheduleTarget({}, 'linux', true)).toBe('systemd');
    expect(scheduleTarget({}, 'linux', false)).toBe('cron');
    expect(scheduleTarget({}, 'darwin', false)).toBe('cron');
    expect(scheduleTarget({ cron: true }, 'win32', false)).toBe('cron');
    expect(scheduleTarget({ windows: true }, 'linux', true)).toBe('windows');
    expect(() => scheduleTarget({ cron: true, windows: true }, 'linux', true)).toThrow('choose one of --systemd, --cron and --windows');
  });

  it('asks Task Scheduler on Windows, and finds nothing where schtasks is not', () => {
    expect(installedSchedule('win32')).toBeUndefined();
  });
});
