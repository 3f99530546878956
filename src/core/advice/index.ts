export * from './totals';
export * from './tips';
export * from './text';
export * from './table';
export * from './series';
export * from './snapshot';
