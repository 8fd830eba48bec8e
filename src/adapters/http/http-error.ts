/** An error with the HTTP status and a reason the client can act on. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'HttpError';
  }

  /**
   * Close the connection after answering: the request body was not read to its end. The server
   * answers with `connection: close`, then reads and throws away the rest of the body (bounded:
   * LINGER_MS, lingerBytes in body.ts) before closing, so the sender reads the answer instead of a
   * reset.
   */
  closeConnection = false;
}
