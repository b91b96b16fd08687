import { describe, expect, it } from 'vitest';
import { countKeys, firstLetterCountLines, poisonCountLines, wordCountLines } from '../support/ground-truth.js';

describe('the plain-code truths the tests compare runs with', () => {
  it('counts lower-cased runs of letters and digits, keys in byte order', () => {
    expect(wordCountLines(['The cat, the DOG', 'b2 a_b', ''])).toBe(
      '{"key":"a","value":1}\n{"key":"b","value":1}\n{"key":"b2","value":1}\n{"key":"cat","value":1}\n{"key":"dog","value":1}\n{"key":"the","value":2}\n',
    );
  });

  it('orders keys by UTF-8 bytes, not UTF-16 units: a character above U+FFFF sorts after U+FFFD', () => {
    expect(countKeys(['\u{1F600}', '\uFFFD', 'a', '\u{1F600}']).map((entry) => entry.key)).toEqual(['a', '\uFFFD', '\u{1F600}']);
  });

  it('counts poison items by name without their argument, and logged items by first character', () => {
    expect(poisonCountLines(['b', 'block:10', 'a', 'b'])).toBe('{"key":"a","value":1}\n{"key":"b","value":2}\n{"key":"block","value":1}\n');
    expect(firstLetterCountLines(['i1', 'j', 'i2'])).toBe('{"key":"i","value":2}\n{"key":"j","value":1}\n');
  });
});
