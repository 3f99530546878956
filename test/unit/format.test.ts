import * as assert from 'node:assert/strict';
import {
  formatAgo,
  formatCo2,
  formatDistance,
  formatDuration,
  formatEnergy,
  formatPower,
  sig,
} from '../../src/core/format';
import { escapeMarkdown } from '../../src/core/report';

describe('formatting', () => {
  it('picks readable units for CO₂eq', () => {
    assert.equal(formatCo2(0), '0 g');
    assert.equal(formatCo2(0.0000004), '0.4 mg');
    assert.equal(formatCo2(0.0124), '12.4 g');
    assert.equal(formatCo2(3.14159), '3.14 kg');
    assert.equal(formatCo2(1234), '1.23 t');
    // a figure that rounds up to 1000 of a unit reads in the next one ("1 g left", never "1000 mg left")
    assert.equal(formatCo2(0.000999999), '1 g');
    assert.equal(formatCo2(0.00099), '990 mg');
    assert.equal(formatCo2(-0.000999999), '-1 g');
    assert.equal(formatCo2(999.9999), '1 t');
  });
  it('picks readable units for energy and power', () => {
    assert.equal(formatEnergy(0.0000005), '0.5 mWh');
    assert.equal(formatEnergy(0.0032), '3.2 Wh');
    assert.equal(formatEnergy(1.5), '1.5 kWh');
    assert.equal(formatEnergy(0.0009999), '1 Wh');
    assert.equal(formatPower(38.4), '38 W');
    assert.equal(formatPower(2.345), '2.3 W');
    assert.equal(formatPower(1500), '1.5 kW');
    // tiny and huge figures in a unit of their own, never a string of zeros
    assert.equal(formatPower(0.00066), '0.66 mW');
    assert.equal(formatCo2(2.85e-10), '0.285 µg');
    assert.equal(formatEnergy(9.49e-11), '0.0949 µWh');
    assert.equal(formatEnergy(1e9), '1 TWh');
    assert.equal(formatCo2(2.5e6), '2.5 kt');
  });
  it('formats durations and ages', () => {
    assert.equal(formatDuration(5.2), '5.2 s');
    assert.equal(formatDuration(45), '45 s');
    assert.equal(formatDuration(14 * 60), '14 min');
    assert.equal(formatDuration(2 * 3600 + 5 * 60), '2 h 05 min');
    // rounded to the last unit shown, whichever it is: never one unit cut off where another is rounded
    const cases: [number, string][] = [
      [9.96, '10 s'],
      [59.4, '59 s'],
      [59.99, '1 min'],
      [65, '1 min 05 s'],
      [119.6, '2 min'],
      [599.4, '9 min 59 s'],
      [599.6, '10 min'],
      [3599.9, '1 h 00 min'],
      [7199, '2 h 00 min'],
      [48 * 3600 - 10, '2 d 0 h'],
      [3 * 86400 + 4.6 * 3600, '3 d 5 h'],
    ];
    for (const [s, text] of cases) assert.equal(formatDuration(s), text, String(s));
    assert.equal(formatAgo(Date.now() - 2 * 3600 * 1000), '2 h ago');
    assert.equal(formatAgo(Date.now()), 'just now');
  });
  it('rounds to significant digits', () => {
    assert.equal(sig(0.000123456), '0.000123');
    assert.equal(sig(123456), '123456');
    // never an exponent: a run's footprint in km by car is often below a millionth
    assert.equal(sig(4.2129e-8), '0.0000000421');
    assert.equal(sig(-0.0000012345), '-0.00000123');
    assert.equal(sig(1.5), '1.5');
    assert.equal(sig(2), '2');
  });
  it('says a distance in the unit that reads best', () => {
    assert.equal(formatDistance(4.2129e-8), '42.1 µm');
    assert.equal(formatDistance(4.2e-13), '0.42 nm');
    assert.equal(formatDistance(0.0000052), '5.2 mm');
    assert.equal(formatDistance(0.31), '310 m');
    assert.equal(formatDistance(0.9999999), '1 km');
    assert.equal(formatDistance(12.44), '12.4 km');
    assert.equal(formatDistance(0), '0 km');
  });
  it('escapes Markdown in strings from runs', () => {
    assert.equal(escapeMarkdown('<img src=x onerror=alert(1)>'), '\\<img src=x onerror=alert\\(1\\)\\>');
    assert.equal(escapeMarkdown('[link](command:x)'), '\\[link\\]\\(command:x\\)');
  });
});
