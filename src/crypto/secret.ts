/**
 * A secret value received from a client (the input side of the `EncryptedString` scalar).
 *
 * The value sits in a private field, and every way an object is turned into text — `String()`,
 * template literals, `JSON.stringify` (pino's serializer), `util.inspect` (console.log, assertion
 * messages) — gives `[redacted]`. Code that needs the value asks for it with {@link Secret.reveal},
 * which reads as what it is in review. So a variables object, an argument list or an error that
 * holds a Secret can be logged or shown by accident without the value going with it.
 */
import { inspect } from 'node:util';

const REDACTED = '[redacted]';

export class Secret {
  readonly #value: unknown;

  private constructor(value: unknown) {
    this.#value = value;
  }

  /**
   * Wraps whatever a client sent. The value is not checked here: graphql-js quotes a refused
   * input value in its error message, so the scalar accepts everything and the service refuses
   * what is not a usable string (BAD_USER_INPUT, naming only the field).
   */
  static of(value: unknown): Secret {
    return new Secret(value);
  }

  /** The value when it is a string, else undefined. The only way to read it. */
  reveal(): string | undefined {
    return typeof this.#value === 'string' ? this.#value : undefined;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return `Secret(${REDACTED})`;
  }
}
