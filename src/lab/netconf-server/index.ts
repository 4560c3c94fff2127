// The twin's NETCONF server (the device side): what the device agent, the simulator, tests and
// benchmarks import. Product code never does; it speaks NETCONF through src/netconf/client.ts.
export * from './server';
export * from './datastore';
