import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ApiError, isApiError, parseRetryAfter, redact } from '../../../src/client/api-error.ts';
import { ClientError, isClientError } from '../../../src/client/client-error.ts';
import { readLines } from '../../../src/client/lines.ts';
import { backoffDelay, sleep } from '../../../src/util/backoff.ts';

function streamOf(pieces: Uint8Array[]): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream({
    pull(ctl) {
      const p = pieces[i++];
      if (p) ctl.enqueue(p);
      else ctl.close();
    },
  });
}

async function collect(it: AsyncIterable<string>): Promise<string[]> {
  const out = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('readLines', () => {
  test('splits on \\n and \\r\\n across arbitrary byte boundaries, including inside a UTF-8 character', async () => {
    const bytes = new TextEncoder().encode('α1\r\nβ22\n\nγ333\r\nlast');
    for (let cut = 0; cut <= bytes.length; cut++) {
      for (let cut2 = cut; cut2 <= bytes.length; cut2 += 3) {
        const lines = await collect(
          readLines(streamOf([bytes.slice(0, cut), bytes.slice(cut, cut2), bytes.slice(cut2)])),
        );
        assert.deepEqual(lines, ['α1', 'β22', '', 'γ333', 'last'], `cuts ${cut}/${cut2}`);
      }
    }
  });

  test('null body yields nothing; early exit cancels the stream', async () => {
    assert.deepEqual(await collect(readLines(null)), []);
    let cancelled = false;
    const s = new ReadableStream<Uint8Array>({
      pull(ctl) {
        ctl.enqueue(new TextEncoder().encode('x\n'));
      },
      cancel() {
        cancelled = true;
      },
    });
    for await (const _ of readLines(s)) break;
    assert.ok(cancelled);
  });
});

describe('api-error helpers', () => {
  test('parseRetryAfter: seconds, HTTP date, garbage', () => {
    assert.equal(parseRetryAfter('3'), 3000);
    assert.equal(parseRetryAfter(' 0 '), 0);
    assert.equal(parseRetryAfter(null), undefined);
    assert.equal(parseRetryAfter('soon'), undefined);
    const now = Date.parse('2026-08-21T10:00:00Z');
    assert.equal(parseRetryAfter('Fri, 21 Aug 2026 10:00:05 GMT', now), 5000);
    assert.equal(parseRetryAfter('Fri, 21 Aug 2026 09:00:00 GMT', now), 0);
  });

  test('brands are realm-safe and code-aware; redact hides secrets', () => {
    const e = new ApiError({ status: 409, errorCode: 'DuplicateName', message: 'dup' });
    assert.ok(isApiError(e) && isApiError(e, 'DuplicateName'));
    assert.equal(isApiError(e, 'Other'), false);
    assert.equal(e.details, null);
    assert.ok(
      !isApiError(new Error('x')) && !isApiError(null) && !isApiError({ errorCode: 'DuplicateName' }),
    );
    const c = new ClientError('WaitTimeout', 'late');
    assert.ok(isClientError(c, 'WaitTimeout') && !isClientError(c, 'PipelineFailed') && !isApiError(c));
    assert.equal(redact('a KEY b KEY', ['KEY', '']), 'a *** b ***');
  });
});

describe('backoff', () => {
  test("Feldera's completion backoff: 100 ms × 1.2^n, capped at 5 s", () => {
    assert.equal(backoffDelay(0), 100);
    assert.equal(Math.round(backoffDelay(1)), 120);
    assert.equal(Math.round(backoffDelay(2)), 144);
    assert.equal(backoffDelay(100), 5000);
  });

  test('sleep is abortable', async () => {
    const ac = new AbortController();
    const p = sleep(10_000, ac.signal);
    ac.abort(new Error('stop'));
    await assert.rejects(p, /stop/);
    await sleep(1);
  });
});
