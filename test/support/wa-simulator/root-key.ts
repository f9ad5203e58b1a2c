/**
 * The simulator's stand-in for WhatsApp's long-term Noise root key. Fixed, so that a preload in another
 * process (hashsend started by a test) and the simulator in the test process agree without talking.
 * Test-only: it signs nothing but the simulator's own certificates.
 */
export const TEST_ROOT_KEY = {
  private: Buffer.from('b0eb3455e4031cfb08e4303c253abd4994e03f8dd3b882b747b18fda688b2c7d', 'hex'),
  public: Buffer.from('51a6bc035f5954205a1e5f41d53fdb4a97c6e0a42416621591e83717dfe1a038', 'hex'),
};

/** Not 0 (WhatsApp's own), so a client that did not load the trust preload fails loudly at the first check. */
export const TEST_ROOT_SERIAL = 7357;
