import type { Logger } from '../../log.js';

const DEBUG = 20;
const WARN = 40;

/**
 * Baileys logs every frame at info and debug: its child logs at `warn` unless the operator asked for
 * debug or trace, and never more than a quieter parent would.
 */
export const baileysLogger = (parent: Logger): Logger =>
  parent.child({ component: 'baileys' }, { level: parent.levelVal <= DEBUG || parent.levelVal > WARN ? parent.level : 'warn' });
