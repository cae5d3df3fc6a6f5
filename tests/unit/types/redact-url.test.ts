/** URL userinfo redaction (types/redact-url.ts) and the manager's redact/unredact round trip. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { redact, unredact } from '../../../src/manager/validate.ts';
import { redactUrlCredentials, redactUrlCredentialsDeep } from '../../../src/types/redact-url.ts';

test('the password of a URL is hidden, the user name kept; a lone userinfo is hidden whole', () => {
  assert.equal(redactUrlCredentials('http://user:pass@host:9000'), 'http://user:<redacted>@host:9000');
  assert.equal(redactUrlCredentials('https://tok3n@host/x?y#z'), 'https://<redacted>@host/x?y#z');
  assert.equal(
    redactUrlCredentials('s3 at http://u:p@ss@h:1/b, then'),
    's3 at http://u:<redacted>@h:1/b, then',
  );
  assert.equal(
    redactUrlCredentials('GET k on s3://b/p at http://a:1@x and http://b:2@y'),
    'GET k on s3://b/p at http://a:<redacted>@x and http://b:<redacted>@y',
  );
  for (const plain of ['http://host:9000/x', 'mail me: a@b.c', 'no url', 'http://host/a@b'])
    assert.equal(redactUrlCredentials(plain), plain);
  // idempotent
  const once = redactUrlCredentials('http://u:p@h');
  assert.equal(redactUrlCredentials(once), once);
  assert.deepEqual(redactUrlCredentialsDeep({ a: ['http://u:p@h'], n: 1, z: null }), {
    a: ['http://u:<redacted>@h'],
    n: 1,
    z: null,
  });
});

test('the manager shows endpoints redacted and keeps the stored credentials when they come back', () => {
  const stored = {
    storage: { backend: { config: { sync: { endpoint: 'http://u:secret@h:9', secret_key: 'S' } } } },
  };
  const shown = redact(stored) as typeof stored;
  assert.equal(shown.storage.backend.config.sync.endpoint, 'http://u:<redacted>@h:9');
  assert.equal(shown.storage.backend.config.sync.secret_key, '<redacted>');
  assert.deepEqual(unredact(shown, stored), stored);
  // a changed endpoint is taken as sent
  const changed = structuredClone(shown);
  changed.storage.backend.config.sync.endpoint = 'http://u:new@h:9';
  assert.equal(
    (unredact(changed, stored) as typeof stored).storage.backend.config.sync.endpoint,
    'http://u:new@h:9',
  );
});
