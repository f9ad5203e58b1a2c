import { randomBytes } from 'node:crypto';

/**
 * In the form Baileys uses (`3EB0…`), so the id we choose is one WhatsApp clients expect. The random bytes come
 * from a pool filled 256 ids at a time: one call into the CSPRNG per message cost as much as the rest of the id.
 */
const ID_BYTES = 10;
let idPool = Buffer.alloc(0);
let idOffset = 0;
export const newMessageId = () => {
  if (idOffset + ID_BYTES > idPool.length) {
    idPool = randomBytes(ID_BYTES * 256);
    idOffset = 0;
  }
  idOffset += ID_BYTES;
  return `3EB0${idPool.toString('hex', idOffset - ID_BYTES, idOffset).toUpperCase()}`;
};
