/** Telling a value that does not decrypt apart from every other failure. */
import { StrongroomError } from '../../errors.ts';

/** Whether `err` is the cipher's coded refusal of a stored value (`DECRYPTION_FAILED`). */
export function isDecryptionFailure(err: unknown): boolean {
  return err instanceof StrongroomError && err.extensions.code === 'DECRYPTION_FAILED';
}
