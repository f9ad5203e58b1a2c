export {
  startWaSimulator,
  WaSimulator,
  type Delivery,
  type IncomingOptions,
  type PhoneMedia,
  type PhoneMediaKind,
  type ReceiptType,
  type WaSimulatorOptions,
} from './simulator.js';
export { TEST_ROOT_KEY, TEST_ROOT_SERIAL } from './root-key.js';
