import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';

/** Each route module describes its own paths with the zod schemas it validates with. */
export type DescribeRoutes = (registry: OpenAPIRegistry) => void;

export const errorSchema = z
  .object({
    error: z.object({
      code: z.string().meta({ description: 'Stable, for scripts to branch on' }),
      message: z.string(),
      details: z.record(z.string(), z.unknown()).optional(),
    }),
  })
  .meta({ id: 'Error', example: { error: { code: 'session_not_found', message: 'no session "shop"' } } });

/** The error answers a route can give, with the codes each status carries. */
export const errors = (byStatus: Record<number, string[]>) =>
  Object.fromEntries(
    Object.entries(byStatus).map(([status, codes]) => [
      status,
      {
        description: codes.map((c) => `\`${c}\``).join(', '),
        content: { 'application/json': { schema: errorSchema, example: { error: { code: codes[0], message: '…' } } } },
      },
    ]),
  );

/** Every `/api` route answers these when the key is missing, wrong or guessed at too often. */
export const authErrors = errors({ 401: ['unauthorized'], 403: ['forbidden'], 429: ['rate_limited'] });

export const json = <T extends z.ZodType>(schema: T, description: string, example?: unknown) => ({
  description,
  content: { 'application/json': { schema, ...(example !== undefined ? { example } : {}) } },
});

export const sessionIdParam = z.object({
  id: z.string().meta({ description: 'Session id', example: 'default' }),
});

/** Builds `/openapi.json` from every route module's description. */
export const createOpenApiDocument = (describe: DescribeRoutes[], { version, serverUrl }: { version: string; serverUrl?: string }) => {
  const registry = new OpenAPIRegistry();
  const bearer = registry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer' });
  const apiKey = registry.registerComponent('securitySchemes', 'apiKey', { type: 'apiKey', in: 'header', name: 'X-Api-Key' });
  for (const d of describe) d(registry);
  const document = new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'hashsend',
      version,
      description:
        'Self-hosted WhatsApp gateway that never sends a stale file: media is named by sha256, fetched fresh past caches, verified, and checked again right before it leaves.',
    },
    ...(serverUrl ? { servers: [{ url: serverUrl }] } : {}),
    security: [{ [bearer.name]: [] }, { [apiKey.name]: [] }],
  });
  withShutdownRefusals((document.paths ?? {}) as Record<string, Record<string, unknown>>);
  return document;
};

/** Methods that may start work: during a graceful shutdown every such `/api` route answers `503 shutting_down`. */
const STARTS_WORK = ['post', 'put', 'patch', 'delete'] as const;

/** Added here, once, as src/http/drain.ts applies it: to every route that may start work, whatever its module. */
const withShutdownRefusals = (paths: Record<string, Record<string, unknown>>) => {
  for (const [route, item] of Object.entries(paths)) {
    if (!route.startsWith('/api/')) continue;
    for (const method of STARTS_WORK) {
      const operation = item[method] as { responses?: Record<string, { description?: string }> } | undefined;
      if (!operation?.responses) continue;
      const existing = operation.responses['503'];
      if (existing) existing.description = `${existing.description ?? ''}, \`shutting_down\``.replace(/^, /, '');
      else Object.assign(operation.responses, errors({ 503: ['shutting_down'] }));
    }
  }
};
