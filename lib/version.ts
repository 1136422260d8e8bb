/**
 * The library version, sent to the broker in the client properties (a test keeps it equal to package.json's).
 * @category Connection
 */
export const VERSION = '0.1.0';
