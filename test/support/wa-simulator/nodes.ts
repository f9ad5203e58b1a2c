import type { BinaryNode } from '@whiskeysockets/baileys';

export const S_WHATSAPP_NET = 's.whatsapp.net';

export const children = (node: BinaryNode | undefined, tag?: string): BinaryNode[] =>
  Array.isArray(node?.content) ? node.content.filter((c) => !tag || c.tag === tag) : [];

export const child = (node: BinaryNode | undefined, tag: string) => children(node, tag)[0];

export const bytes = (node: BinaryNode | undefined): Buffer | undefined => {
  const c = node?.content;
  if (c instanceof Uint8Array) return Buffer.from(c);
  if (typeof c === 'string') return Buffer.from(c, 'utf8');
  return undefined;
};

export const uintBE = (node: BinaryNode | undefined) => {
  const b = bytes(node);
  return b && b.length ? b.readUIntBE(0, b.length) : undefined;
};

export const iqResult = (request: BinaryNode, content?: BinaryNode[]): BinaryNode => ({
  tag: 'iq',
  attrs: { from: S_WHATSAPP_NET, type: 'result', id: request.attrs.id ?? '' },
  ...(content ? { content } : {}),
});

export const unixNow = () => String(Math.floor(Date.now() / 1000));
