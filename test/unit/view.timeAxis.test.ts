/** The runs chart's time axis (core/view/timeAxis.ts): a sensible window for 1 run, runs minutes apart, months of runs. */
import * as assert from 'node:assert/strict';
import { MIN_WINDOW_S, niceStepS, timeAxis, type TimeAxis } from '../../src/core/view/timeAxis';

const utc = () => 0;
const paris = (ms: number) => (new Date(ms).getUTCMonth() >= 3 && new Date(ms).getUTCMonth() <= 9 ? 120 : 60);
const s = (iso: string) => Date.parse(iso) / 1000;
const iso = (x: number) => new Date(x * 1000).toISOString();

function assertWellFormed(a: TimeAxis, times: number[]): void {
  for (const x of times) assert.ok(x > a.minS && x < a.maxS, `${iso(x)} inside ${iso(a.minS)}–${iso(a.maxS)}`);
  assert.ok(a.ticksS.length >= 2 && a.ticksS.length <= 8, `${a.ticksS.length} ticks`);
  for (const x of a.ticksS) assert.ok(x >= a.minS && x <= a.maxS, `tick ${iso(x)} inside the window`);
  for (let i = 1; i < a.ticksS.length; i++) assert.ok(a.ticksS[i] > a.ticksS[i - 1]);
}

describe('runs chart time axis (core/view/timeAxis)', () => {
  it('one run: an hour around it, ticks every 10 min on round times, written as times of day', () => {
    const run = s('2026-11-26T14:07:00Z');
    const a = timeAxis([run], 7, utc)!;
    assertWellFormed(a, [run]);
    assert.equal(a.maxS - a.minS, MIN_WINDOW_S, 'not 3 days, not years: one hour');
    assert.equal((a.minS + a.maxS) / 2, run, 'centred on the run');
    assert.equal(a.stepS, 600);
    assert.ok(
      a.ticksS.every((x) => x % 600 === 0),
      a.ticksS.map(iso).join(' '),
    );
    assert.equal(iso(a.ticksS[0]), '2026-11-26T13:40:00.000Z');
    assert.equal(a.format, 'time');
  });

  it('two runs three minutes apart: still an hour, both inside, not a 3-minute zoom', () => {
    const t = [s('2026-11-26T09:00:00Z'), s('2026-11-26T09:03:00Z')];
    const a = timeAxis(t, 7, utc)!;
    assertWellFormed(a, t);
    assert.equal(a.maxS - a.minS, MIN_WINDOW_S);
    assert.equal(a.stepS, 600);
    assert.equal(a.format, 'time');
  });

  it('two runs five hours apart: padded span, hourly ticks', () => {
    const t = [s('2026-11-26T08:10:00Z'), s('2026-11-26T13:10:00Z')];
    const a = timeAxis(t, 7, utc)!;
    assertWellFormed(a, t);
    assert.equal(a.minS, t[0] - 900, '5 % of the span before');
    assert.equal(a.maxS, t[1] + 900, '5 % after');
    assert.equal(a.stepS, 3600);
    assert.deepEqual(a.ticksS.map(iso).slice(0, 2), ['2026-11-26T08:00:00.000Z', '2026-11-26T09:00:00.000Z']);
  });

  it('runs across midnight within a day: the ticks carry the day', () => {
    const t = [s('2026-11-26T20:00:00Z'), s('2026-11-27T04:00:00Z')];
    const a = timeAxis(t, 7, utc)!;
    assertWellFormed(a, t);
    assert.equal(a.format, 'dayTime');
  });

  it('runs over six weeks: daily or weekly ticks at local midnight, written as days', () => {
    const t = [s('2026-10-15T10:00:00Z'), s('2026-11-26T16:00:00Z')];
    const a = timeAxis(t, 7, paris)!;
    assertWellFormed(a, t);
    assert.equal(a.format, 'day');
    assert.ok(a.stepS >= 86400 && a.stepS % 86400 === 0, `${a.stepS}`);
    // local midnight: 22:00 UTC in summer time, 23:00 UTC after the change (each tick with its own offset)
    for (const x of a.ticksS) assert.equal(new Date(x * 1000).getUTCHours(), 24 - paris(x * 1000) / 60, iso(x));
  });

  it('runs over ten weeks: ticks on the 1st and the 16th at midnight, not every 9th or 13th day', () => {
    const t = [s('2026-09-18T10:00:00Z'), s('2026-11-26T16:00:00Z')];
    const a = timeAxis(t, 7, utc)!;
    assertWellFormed(a, t);
    assert.equal(a.format, 'day');
    // the window is padded by 5 % on each side: 14 Sep – 29 Nov
    assert.deepEqual(
      a.ticksS.map((x) => iso(x).slice(5, 19)),
      ['09-16T00:00:00', '10-01T00:00:00', '10-16T00:00:00', '11-01T00:00:00', '11-16T00:00:00'],
    );
  });

  it('runs over four months: too many half months for 7 ticks, so the first of each month', () => {
    const t = [s('2026-07-20T10:00:00Z'), s('2026-11-26T16:00:00Z')];
    const a = timeAxis(t, 7, utc)!;
    assertWellFormed(a, t);
    assert.equal(a.format, 'month');
    // the window is padded by 5 % on each side: 13 Jul – 2 Dec
    assert.deepEqual(
      a.ticksS.map((x) => iso(x).slice(0, 10)),
      ['2026-08-01', '2026-09-01', '2026-10-01', '2026-11-01', '2026-12-01'],
    );
  });

  it('runs over months: a tick on the first of the month, written as month and year', () => {
    const t = [s('2026-02-10T10:00:00Z'), s('2026-06-20T10:00:00Z'), s('2026-11-26T16:00:00Z')];
    const a = timeAxis(t, 7, utc)!;
    assertWellFormed(a, t);
    assert.equal(a.format, 'month');
    assert.ok(
      a.ticksS.every((x) => /-01T00:00:00/.test(iso(x))),
      a.ticksS.map(iso).join(' '),
    );
    const months = a.ticksS.map((x) => new Date(x * 1000).getUTCMonth());
    const gaps = new Set(months.slice(1).map((m, i) => (m - months[i] + 12) % 12));
    assert.equal(gaps.size, 1, 'evenly spaced months');
  });

  it('runs over years: months on round multiples, the window crossing years', () => {
    const t = [s('2023-03-01T10:00:00Z'), s('2026-11-26T16:00:00Z')];
    const a = timeAxis(t, 7, utc)!;
    assertWellFormed(a, t);
    assert.equal(a.format, 'month');
    assert.ok(
      a.ticksS.every((x) => new Date(x * 1000).getUTCMonth() === 0),
      'ticks on January',
    );
  });

  it('runs over six weeks across a new year: the year is written', () => {
    const t = [s('2025-12-20T10:00:00Z'), s('2026-01-30T10:00:00Z')];
    const a = timeAxis(t, 7, utc)!;
    assertWellFormed(a, t);
    assert.equal(a.format, 'dayYear', 'the year is written when the window spans two');
  });

  it('no finite time: no axis; non-finite times are ignored', () => {
    assert.equal(timeAxis([]), undefined);
    assert.equal(timeAxis([NaN, Infinity]), undefined);
    const run = s('2026-11-26T14:07:00Z');
    assert.equal(timeAxis([NaN, run], 7, utc)!.maxS - timeAxis([NaN, run], 7, utc)!.minS, MIN_WINDOW_S);
  });

  it('niceStepS: round steps, at most `max` ticks', () => {
    assert.equal(niceStepS(3600), 600);
    assert.equal(niceStepS(86400), 21600);
    assert.equal(niceStepS(90 * 86400), 13 * 86400);
    for (const span of [1, 59, 3600, 7 * 86400, 400 * 86400]) assert.ok(span / niceStepS(span) <= 7);
  });
});
