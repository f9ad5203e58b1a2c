/**
 * Test-only preload: makes Baileys trust the simulator's Noise root instead of WhatsApp's, the way a test
 * CA is installed. Load it before anything opens a socket:
 *   node --import tsx --import ./test/support/wa-simulator/trust.ts ...
 * or import it first in a test file. Baileys reads WA_CERT_DETAILS.PUBLIC_KEY and .SERIAL from the exported
 * object each time it checks a server certificate (Utils/noise-handler.js, processHandshake), and ES modules
 * are instantiated once per process, so changing the object's fields here is seen by every socket.
 */
import { WA_CERT_DETAILS } from '@whiskeysockets/baileys';
import { TEST_ROOT_KEY, TEST_ROOT_SERIAL } from './root-key.js';

WA_CERT_DETAILS.PUBLIC_KEY = Buffer.from(TEST_ROOT_KEY.public);
WA_CERT_DETAILS.SERIAL = TEST_ROOT_SERIAL;
WA_CERT_DETAILS.ISSUER = 'WaSimulatorTestRoot';
