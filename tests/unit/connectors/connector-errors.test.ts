/** connector-errors.ts: bounded per tag, numbered with gaps for errors not kept, message cut, saved and restored. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ConnectorErrorLog,
  MAX_CONNECTOR_ERROR_LEN,
  MAX_CONNECTOR_ERRORS,
  recordParseErrors,
} from '../../../src/connectors/connector-errors.ts';

test('keeps the newest entries of each tag, numbered by every error ever reported', () => {
  const log = new ConnectorErrorLog();
  for (let i = 0; i < MAX_CONNECTOR_ERRORS + 5; i++) log.add(`e${i}`);
  log.add('tagged', { tag: 'x' });
  const list = log.list();
  assert.equal(list.length, MAX_CONNECTOR_ERRORS + 1);
  assert.equal(list[0]?.index, 5);
  assert.equal(list[0]?.message, 'e5');
  assert.deepEqual(list.at(-1), {
    ...list.at(-1),
    index: MAX_CONNECTOR_ERRORS + 5,
    tag: 'x',
    message: 'tagged',
  });
});

test('a chunk of parse errors: described ones listed, the rest counted as a gap', () => {
  const log = new ConnectorErrorLog();
  const e = (n: number) => ({ description: `bad ${n}`, event_number: n, field: null, invalid_text: null });
  recordParseErrors(log, [e(1), e(2)], 5);
  log.add('next');
  assert.deepEqual(
    log.list().map((x) => [x.index, x.message]),
    [
      [0, 'Parse error (event #1): bad 1'],
      [1, 'Parse error (event #2): bad 2'],
      [5, 'next'],
    ],
  );
});

test('a long message loses its middle; a saved log restores with its numbering', () => {
  const log = new ConnectorErrorLog();
  log.add(`${'a'.repeat(MAX_CONNECTOR_ERROR_LEN)}zz`);
  const m = log.list()[0]?.message ?? '';
  assert.ok(m.length <= MAX_CONNECTOR_ERROR_LEN);
  assert.ok(m.includes('...') && m.endsWith('zz'));
  const again = new ConnectorErrorLog();
  again.restore(JSON.parse(JSON.stringify(log.saved())));
  again.add('after');
  assert.deepEqual(
    again.list().map((x) => x.index),
    [0, 1],
  );
  again.restore({ next: 'x', entries: [{ nonsense: true }] });
  assert.deepEqual(again.list(), [], 'malformed entries are ignored');
});
