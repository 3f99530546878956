export * from './tips';
export * from './text';
export * from './energy';
