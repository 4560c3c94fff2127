export * from './errors';
export * from './records';
export * from './registry';
export * from './engine';
