import { spawn } from 'node:child_process';
import { CLI } from '../support/cli.js';

/** Shell-quotes one word for `script -c`. */
const quote = (word: string) => `'${word.replace(/'/g, `'\\''`)}'`;

export interface Terminal {
  /** Everything the CLI wrote to the terminal so far, escape sequences included. */
  readonly screen: string;
  /** Resolves once `pattern` appears on the screen after `from` (a position on the screen), with the position just after the match. */
  waitFor(pattern: RegExp, from?: number): Promise<number>;
  /** Sends keys as a person types them, one at a time. */
  type(keys: string): Promise<void>;
  /** The CLI's exit code once it ends. */
  exited: Promise<number | null>;
}

export const keys = { enter: '\r' } as const;

/**
 * Runs the built CLI on a real pseudo-terminal through util-linux `script`:
 * stdin and stdout are a TTY, the kernel's line discipline echoes whatever is
 * typed unless the program turns echo off. `script` copies our keys to the
 * terminal and the terminal's output to us.
 */
export function startOnTerminal(args: readonly string[], env: NodeJS.ProcessEnv, timeoutMs = 20_000): Terminal {
  // A wide terminal, so that no prompt is wrapped in the middle of what a test waits for.
  const command = `stty cols 200 rows 50; exec ${[process.execPath, CLI, ...args].map(quote).join(' ')}`;
  const child = spawn('script', ['-qfec', command, '/dev/null'], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, TERM: 'xterm-256color', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let screen = '';
  const listeners = new Set<() => void>();
  const onData = (chunk: string) => {
    screen += chunk;
    for (const listener of listeners) listener();
  };
  // Decoded as streams: a Turkish letter split between two reads stays one letter.
  child.stdout.setEncoding('utf8').on('data', onData);
  child.stderr.setEncoding('utf8').on('data', onData);
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      for (const listener of listeners) listener();
      resolve(code);
    });
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), timeoutMs * 3);
  void exited.finally(() => clearTimeout(killer));
  return {
    get screen() {
      return screen;
    },
    waitFor(pattern, from = 0) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const { text, rawEnd } = plainWithPositions(screen.slice(from));
          const match = pattern.exec(text);
          if (match) {
            listeners.delete(check);
            clearTimeout(timer);
            resolve(from + rawEnd[match.index + match[0].length - 1]!);
          } else if (child.exitCode !== null) {
            listeners.delete(check);
            clearTimeout(timer);
            reject(new Error(`the CLI exited (${child.exitCode}) before ${pattern} appeared. Screen:\n${plain(screen)}`));
          }
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`${pattern} did not appear within ${timeoutMs} ms. Screen:\n${plain(screen)}`));
        }, timeoutMs);
        listeners.add(check);
        check();
      });
    },
    async type(text) {
      for (const key of text.startsWith('\x1b') ? [text] : [...text]) {
        child.stdin.write(key);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    },
    exited,
  };
}

const escape = /\x1b\[[0-9;?]*[A-Za-z]/y;

/** The screen without colours and cursor movements. */
export function plain(text: string): string {
  return plainWithPositions(text).text;
}

/** Also where each visible character ends in the raw screen, so a match maps back to a raw position. */
function plainWithPositions(raw: string): { text: string; rawEnd: number[] } {
  let text = '';
  const rawEnd: number[] = [];
  for (let i = 0; i < raw.length; ) {
    escape.lastIndex = i;
    if (escape.test(raw)) {
      i = escape.lastIndex;
      continue;
    }
    text += raw[i];
    rawEnd.push(++i);
  }
  return { text, rawEnd };
}
