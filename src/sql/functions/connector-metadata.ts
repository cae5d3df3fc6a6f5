/**
 * `CONNECTOR_METADATA()` (rewritten to `connector_meta()` by `../connector-metadata-syntax.ts`): the metadata
 * VARIANT of the connector delivering a record, allowed only in a column's DEFAULT (`../column-defaults.ts`
 * binds those with the clause `DEFAULT`). Holdfast's connectors attach no metadata: the value is the SQL NULL.
 *
 * State: none.
 */
import { type Bound, sqlError } from '../bound.ts';
import { CONNECTOR_METADATA_FUNCTION } from '../connector-metadata-syntax.ts';
import { sqlType } from '../sql-type.ts';
import type { FunctionCall, FunctionImpl } from './types.ts';

export const CONNECTOR_METADATA_FUNCTIONS: Readonly<Record<string, FunctionImpl>> = {
  [CONNECTOR_METADATA_FUNCTION]: (call: FunctionCall): Bound => {
    call.argc(0, 0);
    if (call.ctx.clause !== 'DEFAULT')
      throw sqlError(
        'SqlUnsupported',
        "CONNECTOR_METADATA() is only allowed in a table column's DEFAULT expression",
        call.ctx,
        call.loc,
        { construct: 'CONNECTOR_METADATA' },
      );
    return { type: sqlType('VARIANT', true), cols: [], gen: () => () => null, literal: { value: null } };
  },
};
