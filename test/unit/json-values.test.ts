import { describe, expect, it } from 'vitest';
import { findJsonProblem, previewItem } from '../../shared/data/json-values.js';

class Point {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
}

describe('findJsonProblem', () => {
  it.each([
    ['null', null],
    ['true', true],
    ['false', false],
    ['0', 0],
    ['a negative float', -1.25],
    ['the largest number', Number.MAX_VALUE],
    ['an empty string', ''],
    ['a string', 'héllo 😀'],
    ['an empty array', []],
    ['an empty object', {}],
    ['nested arrays and objects', { a: [1, 'two', { b: null, c: [true, false] }], d: { e: { f: 'g' } } }],
    ['an array of objects', [{ a: 1 }, { b: [2] }]],
  ])('accepts %s', (_, value) => {
    expect(findJsonProblem(value)).toBeUndefined();
  });

  it('accepts objects made with Object.create(null)', () => {
    const bare = Object.create(null) as Record<string, unknown>;
    bare.a = 1;
    bare.nested = Object.create(null) as Record<string, unknown>;
    expect(findJsonProblem(bare)).toBeUndefined();
  });

  it('accepts objects with keys such as "__proto__" and "constructor"', () => {
    expect(findJsonProblem(JSON.parse('{"__proto__": 1, "constructor": "x", "toString": [1]}'))).toBeUndefined();
  });

  it.each([
    ['undefined', undefined, 'value is undefined'],
    ['NaN', NaN, 'value is NaN'],
    ['Infinity', Infinity, 'value is Infinity'],
    ['-Infinity', -Infinity, 'value is -Infinity'],
    ['a BigInt', 10n, 'value is a BigInt'],
    ['a function', () => 1, 'value is a function'],
    ['a symbol', Symbol('s'), 'value is a symbol'],
    ['a Date', new Date(0), 'value is a Date'],
    ['a Map', new Map([['a', 1]]), 'value is a Map'],
    ['a Set', new Set([1]), 'value is a Set'],
    ['a class instance', new Point(1, 2), 'value is a Point'],
    ['a RegExp', /x/, 'value is a RegExp'],
    ['a boxed string', new String('x'), 'value is a String'],
    ['a typed array', new Uint8Array(2), 'value is a Uint8Array'],
  ])('reports %s', (_, value, message) => {
    expect(findJsonProblem(value)).toContain(message);
  });

  it('says what JSON would do to the value', () => {
    expect(findJsonProblem(undefined)).toMatch(/drops/);
    expect(findJsonProblem(NaN)).toMatch(/null/);
    expect(findJsonProblem(5n)).toMatch(/cannot encode/);
  });

  it('reports an empty slot of a sparse array with its index', () => {
    // eslint-disable-next-line no-sparse-arrays
    expect(findJsonProblem([1, , 3])).toContain('value[1] is an empty slot');
    const sparse = new Array<number>(3);
    sparse[0] = 1;
    expect(findJsonProblem(sparse)).toContain('value[1]');
  });

  it('names the path of a nested problem, such as value.a[2].b', () => {
    expect(findJsonProblem({ a: [0, 1, { b: undefined }] })).toBe('value.a[2].b is undefined, which JSON drops');
    expect(findJsonProblem({ x: { y: [[1, NaN]] } })).toContain('value.x.y[0][1] is NaN');
    expect(findJsonProblem([{ when: new Date(0) }])).toContain('value[0].when is a Date');
    expect(findJsonProblem({ m: { s: new Set() } })).toContain('value.m.s is a Set');
    expect(findJsonProblem({ f: [() => 1] })).toContain('value.f[0] is a function');
  });

  it('starts the path with the name it is given', () => {
    expect(findJsonProblem({ a: undefined }, 'item')).toContain('item.a is undefined');
    expect(findJsonProblem(Infinity, 'result')).toContain('result is Infinity');
  });

  it('reports the first problem in order', () => {
    expect(findJsonProblem({ a: 1, b: NaN, c: undefined })).toContain('value.b');
    expect(findJsonProblem([1, 2, undefined, NaN])).toContain('value[2]');
  });

  it('finds a problem inside an Object.create(null) object', () => {
    const bare = Object.create(null) as Record<string, unknown>;
    bare.when = new Date(0);
    expect(findJsonProblem(bare)).toContain('value.when is a Date');
  });

  it('reports a value that refers to itself instead of overflowing the stack', () => {
    const looped: Record<string, unknown> = { a: 1 };
    looped.self = looped;
    let problem: string | undefined;
    expect(() => {
      problem = findJsonProblem(looped);
    }).not.toThrow();
    expect(problem).toContain('value.self');
  });
});

describe('previewItem', () => {
  it('shows an item as JSON', () => {
    expect(previewItem({ a: 1 })).toBe('{"a":1}');
    expect(previewItem('x')).toBe('"x"');
  });

  it('cuts a long item to the maximum length with an ellipsis', () => {
    const preview = previewItem('x'.repeat(500), 20);
    expect(preview).toHaveLength(20);
    expect(preview.endsWith('...')).toBe(true);
  });

  it('shows values JSON cannot encode', () => {
    expect(previewItem(undefined)).toBe('undefined');
    expect(previewItem(5n)).toBe('5');
  });
});
