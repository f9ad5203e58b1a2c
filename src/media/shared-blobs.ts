import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { HashsendError } from '../errors.js';
import type { Logger } from '../log.js';
import { evalScript, type ScriptClient } from '../lib/redis-script.js';

/*
 * Several nodes on one Redis must read each other's blobs: a send accepted on one node is sent by the session's
 * owner, from the blob the first one stored. So every node's BLOBS_DIR must be one shared folder. Each folder holds
 * a marker with an id of its own; Redis keeps the id of the first folder registered:
 *   hs:blobs   hash: id, node (who registered it), dir (its BLOBS_DIR there)
 * A node whose folder has another id is not on the shared volume.
 */
const KEY = 'hs:blobs';
export const BLOBS_MARKER = '.hashsend-blobs-id';

/** Registers the folder's id when none is; answers the registered id, node and dir. */
const CLAIM = `
if redis.call('HSETNX', KEYS[1], 'id', ARGV[1]) == 1 then
  redis.call('HSET', KEYS[1], 'node', ARGV[2], 'dir', ARGV[3])
end
return redis.call('HMGET', KEYS[1], 'id', 'node', 'dir')
`;

export type BlobsShare =
  { shared: true; id: string } | { shared: false; id: string; cluster: { id: string; node: string; dir: string }; message: string };

/**
 * The folder's id: read from its marker, or made and written there. The marker is linked into place whole, so two
 * nodes starting at once on one folder agree on the id the first one linked.
 */
const folderId = async (dir: string): Promise<string> => {
  const marker = path.join(dir, BLOBS_MARKER);
  const read = async () => (await readFile(marker, 'utf8')).trim();
  try {
    return await read();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await mkdir(dir, { recursive: true });
  const id = randomBytes(12).toString('hex');
  const temp = `${marker}.${id}.tmp`;
  await writeFile(temp, `${id}\n`, { mode: 0o644 });
  try {
    await link(temp, marker);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    await rm(temp, { force: true });
  }
  return read();
};

export interface SharedBlobsOptions {
  /** BLOBS_DIR, as this node resolves it. */
  dir: string;
  client: ScriptClient;
  nodeId: string;
  log: Logger;
}

/**
 * Whether this node's BLOBS_DIR is the folder the other nodes use. When it is not, one error is logged saying what
 * to set; the caller keeps the node from taking work (`/readyz` 503 `blobs_not_shared`).
 */
export const checkSharedBlobs = async ({ dir, client, nodeId, log }: SharedBlobsOptions): Promise<BlobsShare> => {
  const where = path.resolve(dir);
  const id = await folderId(where);
  const [clusterId, node, clusterDir] = (await evalScript(client, CLAIM, [KEY], [id, nodeId, where])) as (string | null)[];
  if (clusterId === id) return { shared: true, id };
  const cluster = { id: clusterId ?? '', node: node ?? 'unknown', dir: clusterDir ?? 'unknown' };
  const message =
    `BLOBS_DIR is not the folder the other nodes share: this node's BLOBS_DIR=${where} holds blob folder ${id}, ` +
    `but the cluster's blobs are folder ${cluster.id} (registered by node ${cluster.node}, where BLOBS_DIR=${cluster.dir}). ` +
    `Mount that volume on this node and set BLOBS_DIR to its mount point; until then this node takes no work. ` +
    `(If every node moved to a new volume on purpose, delete the Redis key ${KEY} once and restart them.)`;
  log.error({ blobsDir: where, folder: id, cluster }, message);
  return { shared: false, id, cluster, message };
};

/** The answer to work asked of a node whose BLOBS_DIR is not the shared one. */
export const blobsNotShared = (share: Extract<BlobsShare, { shared: false }>) =>
  new HashsendError('blobs_not_shared', 503, share.message, { node: share.cluster.node, dir: share.cluster.dir });
