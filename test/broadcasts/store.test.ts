import { after } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openBroadcastStore } from '../../src/broadcasts/open-store.js';
import { conformance } from './store-conformance.js';

const dir = await mkdtemp(path.join(tmpdir(), 'hashsend-bstore-'));
after(() => rm(dir, { recursive: true, force: true }));

// One file for every test, as in production: each test's broadcasts have their own ids and sessions.
conformance('SQLite', () => openBroadcastStore({ kind: 'sqlite', file: path.join(dir, 'hashsend.sqlite') }));
