import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, lazyChild } from '../../shared/logger.js';

function capture(): { lines: () => Array<Record<string, unknown>>; stream: Writable } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  return {
    stream,
    lines: () =>
      text
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

describe('JSON logs', () => {
  it('never write passwords, tokens or credentials, at the top or one level down', () => {
    const out = capture();
    const log = createLogger({ format: 'json', level: 'info', destination: out.stream });
    log.info(
      {
        password: 'p1',
        redis: { host: 'redis.internal', password: 'p2' },
        token: 't1',
        headers: { authorization: 'Basic cDM=', cookie: 'session=p4' },
        credentials: { user: 'ops', password: 'p5' },
        env: { REDIS_PASSWORD: 'p6', REDMAP_DASHBOARD_PASSWORD: 'p7', REDMAP_PREFIX: 'kept' },
      },
      'connecting',
    );
    const text = JSON.stringify(out.lines());
    for (const secret of ['p1', 'p2', 't1', 'cDM=', 'p4', 'p5', 'p6', 'p7']) expect(text).not.toContain(secret);
    expect(out.lines()[0]).toMatchObject({
      msg: 'connecting',
      redis: { host: 'redis.internal', password: '***' },
      env: { REDMAP_PREFIX: 'kept' },
    });
  });

  it("carry a child logger's fields on every line: a task's runId, taskId, phase and attempt", () => {
    const out = capture();
    const task = createLogger({ format: 'json', level: 'debug', destination: out.stream }).child({
      runId: 'r1',
      taskId: 'c3',
      phase: 'map',
      attempt: 2,
    });
    task.debug({}, 'task skipped');
    task.child({ item: 0 }).warn({ key: 'k' }, 'slow item');
    for (const line of out.lines()) expect(line).toMatchObject({ runId: 'r1', taskId: 'c3', phase: 'map', attempt: 2 });
  });
});

describe('lazyChild', () => {
  it('makes the child only when it is first used, then logs with its bindings', () => {
    const out = capture();
    const log = createLogger({ format: 'json', level: 'info', destination: out.stream });
    let made = 0;
    const counting = new Proxy(log, {
      get: (target, property, receiver) =>
        property === 'child'
          ? (...args: Parameters<typeof log.child>) => (made++, target.child(...args))
          : (Reflect.get(target, property, receiver) as unknown),
    });
    const child = lazyChild(counting, { runId: 'r1', taskId: 'c7' });
    expect(made).toBe(0);
    child.debug({}, 'below the level');
    child.warn({ items: 2 }, 'retrying');
    child.child({ item: 1 }).error({}, 'item failed');
    expect(made).toBe(1);
    expect(out.lines()).toMatchObject([
      { runId: 'r1', taskId: 'c7', items: 2, msg: 'retrying' },
      { runId: 'r1', taskId: 'c7', item: 1, msg: 'item failed' },
    ]);
  });
});
