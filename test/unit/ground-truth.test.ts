import { describe, expect, it } from 'vitest';
import { wordCountLines } from '../support/ground-truth.js';

describe('the plain word count the fault tests compare with', () => {
  it('counts lower-cased runs of letters and digits, keys in byte order', () => {
    expect(wordCountLines(['The cat, the DOG', 'b2 a_b', ''])).toBe(
      '{"key":"a","value":1}\n{"key":"b","value":1}\n{"key":"b2","value":1}\n{"key":"cat","value":1}\n{"key":"dog","value":1}\n{"key":"the","value":2}\n',
    );
  });
});
