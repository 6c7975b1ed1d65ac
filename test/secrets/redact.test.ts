import { describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { redact, registerSecret, withSecretScope } from '../../src/secrets/redact.js';

describe('secrets known to redaction', () => {
  it('masks a secret read outside any scope everywhere, from then on', () => {
    registerSecret('process-wide-7f3a');
    expect(redact('token process-wide-7f3a refused')).toBe('token *** refused');
    expect(withSecretScope(() => redact('x process-wide-7f3a'))).toBe('x ***');
  });

  it("masks a job's secrets in what the job prints, and forgets them when it ends, however its awaits interleave", async () => {
    const job = (secret: string) =>
      withSecretScope(async () => {
        registerSecret(secret);
        await sleep(5);
        return redact(`401 for ${secret}`);
      });
    const [a, b] = await Promise.all([job('tenant-a-secret-91c2'), job('tenant-b-secret-4d0e')]);
    expect(a).toBe('401 for ***');
    expect(b).toBe('401 for ***');
    expect(redact('tenant-a-secret-91c2 tenant-b-secret-4d0e')).toBe('tenant-a-secret-91c2 tenant-b-secret-4d0e');
  });
});
