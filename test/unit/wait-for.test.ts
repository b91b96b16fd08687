import { describe, expect, it } from 'vitest';
import { waitFor } from '../support/wait-for.js';

describe('waitFor', () => {
  it('returns the first answer, after the probes that said "not yet"', async () => {
    const said = [undefined, null, false, 0, 'late'];
    expect(await waitFor('an answer', () => said.shift(), { intervalMs: 1 })).toBe(0);
  });

  it('fails after its timeout naming what it waited for', async () => {
    await expect(waitFor('the moon to turn blue', () => false, { timeoutMs: 30, intervalMs: 5 })).rejects.toThrow(
      'timed out after 0.03 s waiting for the moon to turn blue',
    );
  });

  it('names what the probe saw last when told so by a function', async () => {
    let seen = 0;
    await expect(
      waitFor(
        () => `a count of 1000 (saw ${seen})`,
        () => ++seen >= 1000,
        { timeoutMs: 20, intervalMs: 5 },
      ),
    ).rejects.toThrow(/^timed out after 0\.02 s waiting for a count of 1000 \(saw \d+\)$/);
  });

  it('stops at once on an error of the probe, unless told to retry errors, and then names the last one', async () => {
    let probes = 0;
    const failing = () => {
      probes++;
      throw new Error(`refused ${probes}`);
    };
    await expect(waitFor('a server', failing, { timeoutMs: 10_000 })).rejects.toThrow('refused 1');
    expect(probes).toBe(1);
    await expect(waitFor('a server', failing, { timeoutMs: 30, intervalMs: 5, retryErrors: true })).rejects.toThrow(
      /^timed out after 0\.03 s waiting for a server \(last error: refused \d+\)$/,
    );
    expect(probes).toBeGreaterThan(2);
  });
});
