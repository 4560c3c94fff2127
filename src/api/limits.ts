// Request size limits (413 beyond them, in the usual {error, message} shape).
/** Default body limit; routes that take a whole fabric file raise it (FABRIC_FILE_LIMIT). */
export const BODY_LIMIT = 1024 * 1024;
/** A fabric file of the 5,000-device benchmark is a few MB as JSON. */
export const FABRIC_FILE_LIMIT = 64 * 1024 * 1024;
