/** The History panel's view model: the snapshot, the table, the chart series and the period totals. */
export * from './totals';
export * from './table';
export * from './series';
export * from './snapshot';
export * from './region';
export * from './steps';
export * from './labels';
