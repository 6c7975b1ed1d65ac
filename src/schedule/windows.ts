import type { Interval, Invocation } from './plan.js';
import { envFileArgument, hostOffset } from './plan.js';

/**
 * The Windows Task Scheduler task `erp-sync schedule --windows` registers,
 * as the XML schtasks takes: every N minutes from a start time offset by the
 * host name, never a second instance while one runs, whether the user is
 * logged on or not (the password is stored by Task Scheduler, which is also
 * what lets the run use the user's Credential Manager), started in the
 * erp-sync home with its environment file. Written on Linux and checked here
 * against the schema's rules; not yet registered on a real Windows machine.
 */

export const TASK = 'erp-sync';
/** The task definition as registered, kept in the home for inspection. */
export const TASK_FILE = 'erp-sync-task.xml';

/** xs:duration as Task Scheduler writes it: PT15M, PT2H, P1D. */
export function taskDuration(minutes: number): string {
  if (minutes % 1440 === 0) return `P${minutes / 1440}D`;
  return minutes % 60 === 0 ? `PT${minutes / 60}H` : `PT${minutes}M`;
}

/** Back from the task's XML (`schtasks /Query /XML`) to erp-sync's own words: "15m", "2h". */
export function intervalOf(xml: string): string | undefined {
  const match = /<Interval>P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?)?<\/Interval>/.exec(xml);
  if (!match) return undefined;
  const minutes = Number(match[1] ?? 0) * 1440 + Number(match[2] ?? 0) * 60 + Number(match[3] ?? 0);
  return minutes >= 60 && minutes % 60 === 0 ? `${minutes / 60}h` : `${minutes}m`;
}

const xmlText = (value: string) => value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * One argument as the Microsoft C runtime splits a command line (what
 * node.exe uses): quoted when it holds a space or a quote, backslashes
 * doubled only where they precede a quote.
 */
export function windowsArgument(arg: string): string {
  if (arg !== '' && !/[\s"]/.test(arg)) return arg;
  let quoted = '"';
  let backslashes = 0;
  for (const char of arg) {
    if (char === '\\') {
      backslashes++;
      continue;
    }
    quoted += char === '"' ? `${'\\'.repeat(backslashes * 2 + 1)}"` : `${'\\'.repeat(backslashes)}${char}`;
    backslashes = 0;
  }
  return `${quoted}${'\\'.repeat(backslashes * 2)}"`;
}

/** The account the task runs as: DOMAIN\user, as schtasks /RU takes it. */
export function windowsAccount(env: NodeJS.ProcessEnv, fallback: string): string {
  return env.USERNAME ? (env.USERDOMAIN ? `${env.USERDOMAIN}\\${env.USERNAME}` : env.USERNAME) : fallback;
}

export interface TaskOptions {
  interval: Interval;
  run: Invocation;
  /** DOMAIN\user. */
  account: string;
  /** The environment file of the home the runs read (ERP_SYNC_HOME, the proxy). */
  environmentFile: string;
}

export function taskXml({ interval, run, account, environmentFile }: TaskOptions): string {
  // A naive date and time is local time for Task Scheduler; the first start lies in the past, so the next one is the next step of the interval.
  const start = new Date(Date.UTC(2024, 0, 1, 0, hostOffset(interval.minutes))).toISOString().slice(0, 19);
  const args = [envFileArgument(environmentFile), run.cli, 'run', '--quiet'].map(windowsArgument).join(' ');
  return [
    '<?xml version="1.0" encoding="UTF-16"?>',
    '<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">',
    '  <RegistrationInfo>',
    // Not an XML comment: "--", as in --remove, may not appear in one.
    `    <Description>erp-sync: ERP catalog to marketplace offers, every ${interval.text}. Written by \`erp-sync schedule\`; \`erp-sync schedule --remove\` removes it.</Description>`,
    `    <URI>\\${TASK}</URI>`,
    '  </RegistrationInfo>',
    '  <Triggers>',
    '    <TimeTrigger>',
    `      <StartBoundary>${start}</StartBoundary>`,
    '      <Repetition>',
    `        <Interval>${taskDuration(interval.minutes)}</Interval>`,
    '        <StopAtDurationEnd>false</StopAtDurationEnd>',
    '      </Repetition>',
    '      <Enabled>true</Enabled>',
    '    </TimeTrigger>',
    '  </Triggers>',
    '  <Principals>',
    '    <Principal id="Author">',
    `      <UserId>${xmlText(account)}</UserId>`,
    '      <LogonType>Password</LogonType>',
    '      <RunLevel>LeastPrivilege</RunLevel>',
    '    </Principal>',
    '  </Principals>',
    '  <Settings>',
    '    <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>',
    '    <DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries>',
    '    <StopIfGoingOnBatteries>false</StopIfGoingOnBatteries>',
    '    <AllowHardTerminate>true</AllowHardTerminate>',
    '    <StartWhenAvailable>true</StartWhenAvailable>',
    '    <RunOnlyIfNetworkAvailable>false</RunOnlyIfNetworkAvailable>',
    '    <IdleSettings>',
    '      <StopOnIdleEnd>false</StopOnIdleEnd>',
    '      <RestartOnIdle>false</RestartOnIdle>',
    '    </IdleSettings>',
    '    <AllowStartOnDemand>true</AllowStartOnDemand>',
    '    <Enabled>true</Enabled>',
    '    <Hidden>false</Hidden>',
    '    <RunOnlyIfIdle>false</RunOnlyIfIdle>',
    '    <WakeToRun>false</WakeToRun>',
    '    <ExecutionTimeLimit>PT3H</ExecutionTimeLimit>',
    '    <Priority>7</Priority>',
    '  </Settings>',
    '  <Actions Context="Author">',
    '    <Exec>',
    `      <Command>${xmlText(run.node)}</Command>`,
    `      <Arguments>${xmlText(args)}</Arguments>`,
    `      <WorkingDirectory>${xmlText(run.home)}</WorkingDirectory>`,
    '    </Exec>',
    '  </Actions>',
    '</Task>',
    '',
  ].join('\r\n');
}

/** schtasks reads a task file only as UTF-16 LE with its byte order mark (UTF-8 is refused as malformed). */
export function taskFile(xml: string): Buffer {
  return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(xml, 'utf16le')]);
}

/** What `schtasks` prints, as text: UTF-16 when it starts with a byte order mark or is full of zero bytes, else the console's 8-bit text. */
export function decodeSchtasksOutput(output: Buffer): string {
  const utf16 = (output[0] === 0xff && output[1] === 0xfe) || output.subarray(0, 64).filter((byte) => byte === 0).length > 16;
  return (utf16 ? output.toString('utf16le') : output.toString('latin1')).replace(/^\uFEFF/, '');
}

/** Registers the task from its file; `/RP *` makes schtasks ask for the account's password on the console. */
export const schtasksCreate = (file: string, account: string) => ['/Create', '/TN', TASK, '/XML', file, '/RU', account, '/RP', '*', '/F'];
export const schtasksDelete = () => ['/Delete', '/TN', TASK, '/F'];
export const schtasksQuery = () => ['/Query', '/TN', TASK, '/XML'];
