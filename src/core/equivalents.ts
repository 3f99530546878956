/**
 * Everyday equivalents of an amount of CO₂eq, with the factor, its source and its year.
 *
 * Factors: US EPA, Greenhouse Gas Equivalencies Calculator, "Calculations and References"
 * (https://www.epa.gov/energy/greenhouse-gas-equivalencies-calculator-calculations-and-references),
 * 2024 edition of the figures:
 * - miles driven by an average gasoline-powered passenger vehicle: 3.93 × 10⁻⁴ metric tons CO₂E/mile
 *   (393 g/mile); EPA gives no per-km figure, the conversion (1 mile = 1.609344 km) is ours.
 * - smartphones charged: 1.24 × 10⁻⁵ metric tons CO₂/smartphone charged (12.4 g).
 * EPA's figures are US averages; they are shown as an order of magnitude, not a claim about the
 * user's car or phone.
 */

export interface EquivalentFactor {
  /** grams CO₂eq per unit */
  gPerUnit: number;
  /** what one unit is */
  unit: string;
  /** the source, in words, with the figure as published */
  source: string;
  /** year of the edition the figure is taken from */
  year: number;
  url: string;
}

const EPA_URL = 'https://www.epa.gov/energy/greenhouse-gas-equivalencies-calculator-calculations-and-references';

/** International mile, km. */
export const KM_PER_MILE = 1.609344;

/** EPA: grams CO₂eq per mile driven by an average gasoline-powered passenger vehicle. */
export const CAR_G_PER_MILE = 393;

/** The same per km: 393 / 1.609344 ≈ 244.2 g/km. */
export const CAR_G_PER_KM = CAR_G_PER_MILE / KM_PER_MILE;

/** EPA: grams CO₂ per smartphone charged. */
export const SMARTPHONE_G_PER_CHARGE = 12.4;

export const EQUIVALENT_FACTORS = {
  carKm: {
    gPerUnit: CAR_G_PER_KM,
    unit: 'km driven by an average passenger car',
    source:
      'US EPA Greenhouse Gas Equivalencies Calculator: 3.93 × 10⁻⁴ metric tons CO₂E per mile driven by an average gasoline-powered passenger vehicle (393 g/mile ÷ 1.609344 km/mile ≈ 244.2 g/km)',
    year: 2024,
    url: EPA_URL,
  },
  smartphoneCharge: {
    gPerUnit: SMARTPHONE_G_PER_CHARGE,
    unit: 'smartphone charged',
    source: 'US EPA Greenhouse Gas Equivalencies Calculator: 1.24 × 10⁻⁵ metric tons CO₂ per smartphone charged',
    year: 2024,
    url: EPA_URL,
  },
} as const satisfies Record<string, EquivalentFactor>;

function grams(kgCO2e: number): number {
  if (!Number.isFinite(kgCO2e) || kgCO2e < 0) {
    throw new RangeError(`kgCO2e must be a finite number ≥ 0, got ${kgCO2e}`);
  }
  return kgCO2e * 1000;
}

/** km an average passenger car drives for the same CO₂eq (EPA factor). */
export function kmByCar(kgCO2e: number): number {
  return grams(kgCO2e) / EQUIVALENT_FACTORS.carKm.gPerUnit;
}

/** Smartphone charges for the same CO₂ (EPA factor). */
export function smartphoneCharges(kgCO2e: number): number {
  return grams(kgCO2e) / EQUIVALENT_FACTORS.smartphoneCharge.gPerUnit;
}
