import { Router } from 'express';

type OpenApiDocument = { info: { title: string; version: string; description?: string }; paths?: Record<string, unknown> };
interface Operation {
  summary?: string;
  description?: string;
  tags?: string[];
  parameters?: { name: string; in: string; required?: boolean; schema?: { description?: string; example?: unknown } }[];
  requestBody?: { content: Record<string, { schema?: unknown; example?: unknown }> };
  responses?: Record<string, { description?: string; content?: Record<string, { example?: unknown; schema?: { example?: unknown } }> }>;
}

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
/** Just enough markdown for our descriptions: `code`. */
const prose = (s = '') => escape(s).replace(/`([^`]+)`/g, '<code>$1</code>');
const pretty = (v: unknown) => escape(JSON.stringify(v, null, 2));

const exampleOf = (content: Record<string, { example?: unknown; schema?: unknown }> | undefined, components: Record<string, unknown>) => {
  const media = content?.['application/json'];
  if (!media) return undefined;
  if (media.example !== undefined) return media.example;
  const schema = media.schema as { example?: unknown; $ref?: string; anyOf?: { $ref?: string }[] } | undefined;
  const ref = schema?.$ref ?? schema?.anyOf?.[0]?.$ref;
  const target = ref ? (components[ref.split('/').pop() ?? ''] as { example?: unknown } | undefined) : schema;
  return target?.example;
};

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

/** The API reference as one static page, rendered once from the OpenAPI document: no script, no CDN. */
export const renderDocs = (doc: OpenApiDocument & { components?: { schemas?: Record<string, unknown> } }) => {
  const components = doc.components?.schemas ?? {};
  const ops = Object.entries(doc.paths ?? {}).flatMap(([path, item]) =>
    METHODS.filter((m) => (item as Record<string, unknown>)[m]).map((m) => ({
      path,
      method: m,
      op: (item as Record<string, Operation>)[m],
    })),
  );
  const sections = ops.map(({ path, method, op }) => {
    const id = `${method}-${path.replace(/[^a-z0-9]+/gi, '-')}`;
    const params = (op.parameters ?? [])
      .map(
        (p) =>
          `<li><code>${escape(p.name)}</code> <span class="muted">${escape(p.in)}${p.required ? ', required' : ''}</span> ${prose(p.schema?.description)}</li>`,
      )
      .join('');
    const body = exampleOf(op.requestBody?.content, components);
    const responses = Object.entries(op.responses ?? {})
      .map(([status, r]) => {
        const example = exampleOf(r.content, components);
        return `<li><strong>${escape(status)}</strong> ${prose(r.description)}${example !== undefined && Number(status) < 300 ? `<pre>${pretty(example)}</pre>` : ''}</li>`;
      })
      .join('');
    return `<section id="${id}"><h3><span class="method ${method}">${method.toUpperCase()}</span> <code>${escape(path)}</code></h3>
<p>${prose(op.summary)}</p>${op.description ? `<p class="muted">${prose(op.description)}</p>` : ''}
${params ? `<h4>Parameters</h4><ul>${params}</ul>` : ''}${body !== undefined ? `<h4>Request body</h4><pre>${pretty(body)}</pre>` : ''}
<h4>Responses</h4><ul>${responses}</ul></section>`;
  });
  const toc = ops
    .map(
      ({ path, method }) =>
        `<li><a href="#${method}-${path.replace(/[^a-z0-9]+/gi, '-')}"><span class="method ${method}">${method.toUpperCase()}</span> ${escape(path)}</a></li>`,
    )
    .join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escape(doc.info.title)} API</title><style>
body{font:15px/1.5 system-ui,sans-serif;margin:0;color:#1d2329;background:#f6f7f9}main{max-width:960px;margin:0 auto;padding:24px}
section{background:#fff;border:1px solid #e2e5e9;border-radius:8px;padding:8px 20px;margin:16px 0}
pre{background:#f1f3f5;padding:10px;border-radius:6px;overflow:auto;font-size:13px}code{font-size:13px}.muted{color:#5c6670}
.method{display:inline-block;min-width:56px;text-align:center;border-radius:4px;color:#fff;font-size:12px;padding:1px 6px}
.get{background:#2f7d4f}.post{background:#2a62b8}.delete{background:#b83a2a}.put,.patch{background:#8a5a00}
nav ul{columns:2;list-style:none;padding:0}nav a{text-decoration:none;color:inherit}</style></head>
<body><main><h1>${escape(doc.info.title)} API <small class="muted">${escape(doc.info.version)}</small></h1>
<p>${prose(doc.info.description)}</p>
<p>Every <code>/api</code> route takes the key as <code>Authorization: Bearer &lt;key&gt;</code> or <code>X-Api-Key: &lt;key&gt;</code>. Errors are <code>{ "error": { "code", "message", "details" } }</code>. Machine-readable: <a href="/openapi.json">/openapi.json</a>.</p>
<nav><ul>${toc}</ul></nav>${sections.join('\n')}</main></body></html>`;
};

/** `/openapi.json` and `/docs`, served without the key: they describe the API, they do not use it. */
export const docsRoutes = ({ document }: { document: OpenApiDocument }) => {
  const html = renderDocs(document);
  return Router()
    .get('/openapi.json', (_req, res) => {
      res.json(document);
    })
    .get('/docs', (_req, res) => {
      res.setHeader('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'");
      res.type('html').send(html);
    });
};
