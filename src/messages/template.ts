import type { MediaResolver } from '../media/resolver.js';
import type { MediaRef } from '../media/types.js';
import type { MessageRecord } from '../outbox/types.js';
import type { OutboundTemplate, TemplateComponent, TemplateMedia, TemplateParameter } from '../whatsapp/driver.js';

type MediaParameterType = 'image' | 'video' | 'document';
type MediaRefInput = { sha256: string; url?: undefined } | { url: string; sha256?: string };

/** A template's variable as a caller gives it: Meta's shape, with a hashsend media reference for header media. */
export type TemplateParameterInput =
  | Exclude<TemplateParameter, { type: MediaParameterType }>
  | { type: 'image'; image: MediaRefInput }
  | { type: 'video'; video: MediaRefInput }
  | { type: 'document'; document: MediaRefInput & { filename?: string } };

export interface TemplateInput {
  name: string;
  language: string;
  components?: (Omit<TemplateComponent, 'parameters'> & { parameters?: TemplateParameterInput[] })[];
}

const isMedia = (p: TemplateParameterInput): p is Extract<TemplateParameterInput, { type: MediaParameterType }> =>
  p.type === 'image' || p.type === 'video' || p.type === 'document';

const refOf = (input: MediaRefInput): MediaRef =>
  input.url !== undefined ? { url: input.url, sha256: input.sha256?.toLowerCase() } : { sha256: input.sha256.toLowerCase() };

/**
 * A template with its header media resolved through the freshness pipeline, like any media message: fetched
 * fresh, verified, stored, and pinned to one sha256 that the driver sends by its own media id. The record's
 * `media` names the (first) media the template shows.
 */
export const composeTemplate = async (
  { name, language, components = [] }: TemplateInput,
  media: Pick<MediaResolver, 'resolve'>,
): Promise<{ content: OutboundTemplate; media?: MessageRecord['media'] }> => {
  let shown: MessageRecord['media'];
  const resolveParameter = async (p: TemplateParameterInput): Promise<TemplateParameter> => {
    if (!isMedia(p)) return p;
    const input: MediaRefInput & { filename?: string } = p.type === 'image' ? p.image : p.type === 'video' ? p.video : p.document;
    const { record } = await media.resolve(refOf(input), { as: p.type });
    const sourceSha256 = record.converted?.fromSha256;
    shown ??= { sha256: record.sha256, ...(sourceSha256 ? { sourceSha256 } : {}) };
    const blob: TemplateMedia = {
      sha256: record.sha256,
      mimetype: record.mimetype,
      size: record.size,
      ...(p.type === 'document' && p.document.filename ? { filename: p.document.filename } : {}),
    };
    return p.type === 'image'
      ? { type: 'image', image: blob }
      : p.type === 'video'
        ? { type: 'video', video: blob }
        : { type: 'document', document: blob };
  };
  const resolved: TemplateComponent[] = [];
  for (const { parameters = [], ...component } of components) {
    // One after another: a template has a handful of parameters, and a failure names the first bad one.
    const params: TemplateParameter[] = [];
    for (const p of parameters) params.push(await resolveParameter(p));
    resolved.push({ ...component, parameters: params });
  }
  return { content: { type: 'template', name, language, components: resolved }, ...(shown ? { media: shown } : {}) };
};
