import { after } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openSqliteBroadcastStore } from '../../src/broadcasts/store-sqlite.js';
import { broadcastStoreConformance } from './store-conformance.js';

const dir = await mkdtemp(path.join(tmpdir(), 'hashsend-bstore-'));
after(() => rm(dir, { recursive: true, force: true }));

// One file for every test, as in production: each test's broadcasts have their own ids and sessions.
broadcastStoreConformance('SQLite', () => openSqliteBroadcastStore(path.join(dir, 'hashsend.sqlite')));
