/**
 * The coded error every boundary uses; the class itself lives in types/service-error.ts (the shared layer, so
 * that the config parsers in types/ can throw it). Import it from here outside types/.
 */
export { isServiceError, ServiceError, toServiceError } from '../types/service-error.ts';
