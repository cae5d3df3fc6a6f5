/**
 * Manager routes about the server itself: `GET /v0/config` (Feldera's `Configuration`), the OpenAPI document
 * (`GET /v0/api-docs/openapi.json`, no key needed), `GET /healthz` and `GET /config/authentication` (no key
 * needed: clients read them before they authenticate).
 */
import { type Route, sendJson } from '../../http/routes.ts';
import { ConfigurationSchema } from '../../types/api-schemas.ts';
import type { ManagerContext } from '../context.ts';
import { VERSION } from './pipelines.ts';

/** Paths served without the API key. */
export const PUBLIC_PATHS: readonly string[] = [
  '/healthz',
  '/config/authentication',
  '/v0/api-docs/openapi.json',
];

export function configRoutes(m: ManagerContext): Route[] {
  return [
    {
      method: 'GET',
      url: '/v0/config',
      schema: {
        summary: 'Server configuration',
        tags: ['Configuration'],
        response: { 200: ConfigurationSchema },
      },
      handler: (_req, reply) => sendJson(reply, 200, configBody()),
    },
    {
      method: 'GET',
      url: '/v0/api-docs/openapi.json',
      schema: { hide: true },
      handler: (_req, reply) => sendJson(reply, 200, m.openapi()),
    },
    {
      method: 'GET',
      url: '/healthz',
      schema: { hide: true },
      handler: (_req, reply) => sendJson(reply, 200, { status: 'healthy' }),
    },
    {
      method: 'GET',
      url: '/config/authentication',
      schema: { hide: true },
      handler: (_req, reply) => sendJson(reply, 200, {}),
    },
  ];
}

function configBody(): Record<string, unknown> {
  return {
    edition: 'Enterprise',
    version: VERSION,
    revision: `holdfast-${VERSION}`,
    runtime_revision: `holdfast-${VERSION}`,
    changelog_url: '',
    unstable_features: null,
    license_validity: null,
    update_info: null,
    build_info: {
      build_timestamp: '',
      build_cpu: process.arch,
      build_os: process.platform,
      cargo_dependencies: '',
      cargo_features: '',
      cargo_debug: 'false',
      cargo_opt_level: '',
      cargo_target_triple: '',
      rustc_version: '',
    },
    build_source: 'source',
    posthog: '',
    conceptualhq: '',
    product_fruits: '',
  };
}
