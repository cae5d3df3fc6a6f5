/**
 * Schema failures of query parameters the manager checks before it proxies to a pipeline process, mapped onto
 * the errors the pipeline process's handlers give for them (routes in src/server/routes/): the same code and
 * message whichever server refuses.
 */
import { ServiceError } from '../errors/service-error.ts';
import { unsupportedQueryFormat } from '../types/api-schemas.ts';
import type { InvalidInput, InvalidMapper } from './errors.ts';

/** `GET /query?format=`. */
export const queryInvalid: InvalidMapper = (e) =>
  e.part === 'querystring' && e.param === 'format'
    ? new ServiceError('InvalidParam', unsupportedQueryFormat(String(e.value)), {
        param: 'format',
      })
    : null;

/** `GET /metrics?format=`. */
export const metricsInvalid: InvalidMapper = (e) =>
  e.part === 'querystring' && e.param === 'format'
    ? new ServiceError(
        'InvalidParam',
        `unknown metrics format '${String(e.value)}': use prometheus or json`,
        {
          param: 'format',
          value: String(e.value),
        },
      )
    : null;

/** `POST /egress/{view}?format=&update_format=`. */
export const egressInvalid: InvalidMapper = (e: InvalidInput) => {
  if (e.part !== 'querystring') return null;
  if (e.param === 'format')
    return new ServiceError(
      'ConfigError.OutputFormatNotSupported',
      e.value === 'parquet'
        ? "egress cannot stream Parquet (a Parquet file is complete only at its footer; Feldera's egress does not stream it either); use format=json or format=csv, or a file_output connector with format parquet"
        : `egress format '${String(e.value)}' is not supported; use json or csv`,
      { format: String(e.value) },
    );
  if (e.param === 'update_format')
    return new ServiceError(
      'ConfigError.OutputFormatNotSupported',
      `egress update_format '${String(e.value)}' is not supported; use insert_delete`,
      { update_format: String(e.value) },
    );
  return null;
};
