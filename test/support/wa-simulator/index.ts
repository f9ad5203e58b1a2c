export { startWaSimulator, WaSimulator, type Delivery, type ReceiptType, type WaSimulatorOptions } from './simulator.js';
export { TEST_ROOT_KEY, TEST_ROOT_SERIAL } from './root-key.js';
