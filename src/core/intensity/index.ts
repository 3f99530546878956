export * from './regions';
export * from './provider';
export { TZDATA_VERSION } from './timezones.generated';
