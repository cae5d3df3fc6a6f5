export * from './error-codes.ts';
export * from './pipeline-api.ts';
