import * as assert from 'node:assert/strict';
import { RAM_MODEL_SOURCE, RAM_W_PER_GB, ramPowerDetail, ramPowerW } from '../../src/core/power/ram';

const GB = 1024 ** 3;

describe('power/ram', () => {
  it("uses CodeCarbon v2's 3 W per 8 GB", () => {
    assert.equal(RAM_W_PER_GB, 3 / 8);
    // Green Algorithms (0.3725 W/GB) and Cloud Carbon Footprint (0.392 W/GB) are within 5 %
    for (const other of [0.3725, 0.392]) assert.ok(Math.abs(other - RAM_W_PER_GB) / RAM_W_PER_GB < 0.05, String(other));
  });

  it('turns resident memory into watts', () => {
    assert.equal(ramPowerW(8 * GB), 3);
    assert.equal(ramPowerW(GB), 0.375);
    assert.equal(ramPowerW(512 * 1024 ** 2), 0.1875);
    assert.equal(ramPowerW(16 * GB, 0.392), 16 * 0.392);
  });

  it('gives 0 W for no memory or nonsense', () => {
    for (const v of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) assert.equal(ramPowerW(v), 0, String(v));
    assert.equal(ramPowerW(GB, -1), 0);
    assert.equal(ramPowerW(GB, Number.NaN), 0);
  });

  it('describes the model and its source', () => {
    assert.equal(ramPowerDetail(), `0.375 W/GB × resident memory of the run (${RAM_MODEL_SOURCE})`);
    assert.match(RAM_MODEL_SOURCE, /CodeCarbon v2: 3 W per 8 GB/);
    assert.match(RAM_MODEL_SOURCE, /Green Algorithms 0\.3725 W\/GB/);
    assert.match(RAM_MODEL_SOURCE, /Cloud Carbon Footprint 0\.392 W\/GB/);
    assert.equal(
      ramPowerDetail(RAM_W_PER_GB, 6 * GB),
      `0.375 W/GB × resident memory of the run, now 6 GB = 2.25 W (${RAM_MODEL_SOURCE})`,
    );
    assert.equal(
      ramPowerDetail(0.5, 2 * GB),
      '0.5 W/GB × resident memory of the run, now 2 GB = 1 W (set by the user)',
    );
  });
});
