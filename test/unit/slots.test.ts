import { describe, expect, it } from 'vitest';
import { Slots } from '../../worker/limits/slots.js';

describe('Slots', () => {
  it('hands out at most its size at once, then serves waiters in arrival order', async () => {
    const slots = new Slots(2);
    const first = await slots.take();
    const second = await slots.take();
    const order: string[] = [];
    const third = slots.take().then((release) => (order.push('third'), release));
    const fourth = slots.take().then((release) => (order.push('fourth'), release));
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(order).toEqual([]);
    first();
    first(); // giving back twice frees one slot only
    await third;
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(order).toEqual(['third']);
    second();
    (await fourth)();
    expect(order).toEqual(['third', 'fourth']);
  });

  it('a waiter whose signal aborts leaves the line without taking a slot', async () => {
    const slots = new Slots(1);
    const held = await slots.take();
    const controller = new AbortController();
    const abandoned = slots.take(controller.signal);
    const next = slots.take();
    controller.abort(new Error('gone'));
    await expect(abandoned).rejects.toThrow('gone');
    held();
    const release = await next;
    release();
    // Both slots' worth is free again: one taker gets it at once.
    (await slots.take())();
  });

  it('a waiter watching several signals leaves the line once, with the reason of the first to abort', async () => {
    const slots = new Slots(1);
    const held = await slots.take();
    const run = new AbortController();
    const worker = new AbortController();
    const abandoned = slots.take(run.signal, undefined, worker.signal);
    const next = slots.take(new AbortController().signal);
    run.abort(new Error('run cancelled'));
    worker.abort(new Error('worker draining'));
    await expect(abandoned).rejects.toThrow('run cancelled');
    held();
    (await next)();
    await expect(slots.take(worker.signal)).rejects.toThrow('worker draining');
  });
});
