import { spawn } from 'node:child_process';

/**
 * Shows long output a screen at a time when stdout is a terminal: through
 * $PAGER, or `less -R` (colours kept, quits at once if it fits, leaves the
 * screen as it was). Piped or redirected output is written as is.
 */
export async function page(lines: readonly string[]): Promise<void> {
  const text = lines.length > 0 ? `${lines.join('\n')}\n` : '';
  const rows = process.stdout.rows ?? 24;
  if (!process.stdout.isTTY || lines.length < rows - 1) {
    process.stdout.write(text);
    return;
  }
  const pager = process.env.PAGER?.trim() || 'less';
  const env = { ...process.env, LESS: process.env.LESS ?? 'FRX' };
  await new Promise<void>((resolve) => {
    const child = spawn(pager, { shell: true, stdio: ['pipe', 'inherit', 'inherit'], env });
    child.on('error', () => {
      process.stdout.write(text);
      resolve();
    });
    child.on('close', (code) => {
      // 127: the shell found no such pager.
      if (code === 127) process.stdout.write(text);
      resolve();
    });
    // The person may quit the pager before reading everything: that is not an error.
    child.stdin.on('error', () => undefined);
    child.stdin.end(text);
  });
}
