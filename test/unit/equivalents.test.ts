import * as assert from 'node:assert/strict';
import {
  CAR_G_PER_KM,
  CAR_G_PER_MILE,
  EQUIVALENT_FACTORS,
  KM_PER_MILE,
  SMARTPHONE_G_PER_CHARGE,
  kmByCar,
  smartphoneCharges,
} from '../../src/core/equivalents';

const close = (actual: number, expected: number, tol = 1e-9) =>
  assert.ok(Math.abs(actual - expected) <= tol, `${actual} is not within ${tol} of ${expected}`);

describe('equivalents', () => {
  it('uses the EPA factors: 393 g CO₂e per mile, 12.4 g CO₂ per smartphone charge', () => {
    assert.equal(CAR_G_PER_MILE, 393);
    assert.equal(KM_PER_MILE, 1.609344);
    close(CAR_G_PER_KM, 244.19888, 1e-5);
    assert.equal(SMARTPHONE_G_PER_CHARGE, 12.4);
    assert.equal(EQUIVALENT_FACTORS.carKm.gPerUnit, CAR_G_PER_KM);
    assert.equal(EQUIVALENT_FACTORS.smartphoneCharge.gPerUnit, 12.4);
  });

  it('every factor names its source, year and URL', () => {
    for (const f of Object.values(EQUIVALENT_FACTORS)) {
      assert.match(f.source, /US EPA Greenhouse Gas Equivalencies Calculator/);
      assert.ok(f.year >= 2023);
      assert.match(f.url, /^https:\/\/www\.epa\.gov\//);
      assert.ok(f.unit.length > 0);
    }
    assert.match(EQUIVALENT_FACTORS.carKm.source, /3\.93 × 10⁻⁴/);
    assert.match(EQUIVALENT_FACTORS.smartphoneCharge.source, /1\.24 × 10⁻⁵/);
  });

  it('kmByCar: 1 kg ≈ 4.095 km; 0.393 kg = one mile', () => {
    close(kmByCar(1), 1000 / (393 / 1.609344));
    close(kmByCar(1), 4.095, 1e-4);
    close(kmByCar(0.393), KM_PER_MILE);
    assert.equal(kmByCar(0), 0);
  });

  it('smartphoneCharges: 1 kg ≈ 80.6 charges; 12.4 g = one charge', () => {
    close(smartphoneCharges(1), 1000 / 12.4);
    close(smartphoneCharges(0.0124), 1);
    close(smartphoneCharges(2.48), 200);
  });

  it('is linear in the emissions', () => {
    close(kmByCar(3.7), 3.7 * kmByCar(1));
    close(smartphoneCharges(3.7), 3.7 * smartphoneCharges(1));
  });

  it('rejects negative and non-finite emissions', () => {
    assert.throws(() => kmByCar(-0.1), RangeError);
    assert.throws(() => smartphoneCharges(Number.NaN), RangeError);
    assert.throws(() => smartphoneCharges(Number.POSITIVE_INFINITY), RangeError);
  });
});
