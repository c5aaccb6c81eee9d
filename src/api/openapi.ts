import { z } from 'zod';
import { errorBodySchema } from './contract.js';
import { ApiErrors } from './errors.js';

/** What the OpenAPI document says of one route: path, summary, query schema, 200 body and content type. */
export interface RouteDoc {
  readonly path: string;
  readonly summary: string;
  readonly query: z.ZodType;
  /** The 200 body of a JSON route (contract.ts). */
  readonly response?: z.ZodType;
  /** Content type of the 200 response. */
  readonly produces?: string;
}

interface JsonSchemaObject {
  properties?: Record<string, Record<string, unknown>>;
  required?: string[];
}

/**
 * The OpenAPI 3.1 document, generated from the same zod schemas that validate the requests and, for
 * the 200 bodies, from the response contract (contract.ts).
 */
export function openApiDocument(routes: readonly RouteDoc[], options: { version: string; tokenRequired: boolean }): Record<string, unknown> {
  const paths: Record<string, unknown> = {};
  for (const route of routes) {
    const schema = z.toJSONSchema(route.query, { io: 'input', unrepresentable: 'any' }) as JsonSchemaObject;
    const required = new Set(schema.required ?? []);
    const parameters = Object.entries(schema.properties ?? {}).map(([name, property]) => {
      const { description, ...rest } = property;
      return { name, in: 'query', required: required.has(name), description, schema: rest };
    });
    const errors = Object.fromEntries(
      [...new Set(Object.values(ApiErrors).map((e) => e.status))].map((status) => [
        String(status),
        { description: errorDescription(status), content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
      ]),
    );
    paths[route.path] = {
      get: {
        summary: route.summary,
        parameters,
        responses: {
          200: {
            description: 'OK',
            content: { [route.produces ?? 'application/json']: route.response ? { schema: z.toJSONSchema(route.response, { io: 'output' }) } : {} },
          },
          ...errors,
        },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'tickflow API',
      version: options.version,
      description: 'Decimal values are JSON strings (exact); times are epoch milliseconds.',
    },
    paths,
    components: {
      schemas: {
        Error: z.toJSONSchema(errorBodySchema),
      },
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
    },
    ...(options.tokenRequired ? { security: [{ bearer: [] }] } : {}),
  };
}

function errorDescription(status: number): string {
  return Object.entries(ApiErrors)
    .filter(([, e]) => e.status === status)
    .map(([code, e]) => `${code}: ${e.meaning}`)
    .join(' ');
}
