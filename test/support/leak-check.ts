import { afterEach, expect } from 'vitest';
import { takeLeaks } from './resources.js';

afterEach(() => {
  const leaks = takeLeaks();
  expect(leaks, `the test left these open: ${leaks.join(', ')}`).toEqual([]);
});
