export * from './allocate';
export * from './compile';
export * from './generate';
export * from './services';
