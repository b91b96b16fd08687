import { beforeEach, expect } from 'vitest';
import { takeLeaks } from './resources.js';

// Checked once the test has finished entirely: after its afterEach hooks and after the teardown
// of its fixtures (fixtures.ts), which close what they opened; what is still open then leaked.
beforeEach(({ onTestFinished }) => {
  onTestFinished(() => {
    const leaks = takeLeaks();
    expect(leaks, `the test left these open: ${leaks.join(', ')}`).toEqual([]);
  });
});
