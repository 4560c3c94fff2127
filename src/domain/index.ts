// The domain layer's public surface: types, parsing, validation, profiles, IPv4 helpers.
export * from './types';
export * from './errors';
export * from './ipv4';
export * from './parse';
export * from './profiles';
export * from './validate';
export * from './services';
