/** Carbon Meter's version, written into every run record. Kept equal to package.json by a unit test. */
export const VERSION = '0.1.0';
