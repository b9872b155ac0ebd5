/** The stream helper's errors: one class with the rest of the SDK's (`errors.ts`), codes in the protocol. */
export { StreamError, StreamErrorCode } from '../errors.js';
