import type { Rate } from './durations.js';

/** `850ms`, `4.2s`, `2m05s`, `1h07m`. */
export function formatDuration(ms: number): string;
/** `200/s`, `50/m`, or `3/1500ms` for a period without a unit. */
export function formatRate(rate: Rate): string;
/** `7`, `2.5`, `1.2k`, `34k`, `5.6M`. */
export function formatCount(value: number): string;
