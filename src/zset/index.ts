export * from './batch.ts';
export * from './value.ts';
export * from './zset-map.ts';
