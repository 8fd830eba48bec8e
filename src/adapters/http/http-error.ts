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

  /** Close the connection after answering: the request body was not read to its end. */
  closeConnection = false;
}
