/**
 * Device ids. A device id lets a sign-in from a remembered IP address skip the second step,
 * so it is a credential: only its hash is stored (known origins, sessions, challenges, the
 * audit log), and what people see is the label the client gave the device.
 *
 * The hash is SHA-256 for now, tagged `sha256:` so that a keyed hash (HMAC under a key from
 * the key store) can take over later and rows of either kind can be told apart. The
 * migration drizzle/auth/0003_hash_device_ids.sql computes the same value in SQL.
 */
import { createHash } from 'node:crypto';

/** The stored form of a device id. */
export function deviceIdHash(deviceId: string): string {
  return `sha256:${createHash('sha256').update(deviceId, 'utf8').digest('hex')}`;
}

/** How a device is named in mail and the audit log when the client gave no label. */
export const UNNAMED_DEVICE = '(unnamed)';
