// `@tgwf/co2` ships no type declarations; its CommonJS entry exports `averageIntensity` (annual grid intensities by
// country, gCO2eq/kWh). Only what src/core/intensity/regions.ts reads is declared.
declare module '@tgwf/co2' {
  export const averageIntensity: { data: Record<string, number>; type: string };
}
