/** A refusal: nothing was changed. `next` says what to do instead. */
export class Refusal extends Error {
  constructor(
    message: string,
    readonly next?: string,
    readonly exitCode = 2,
  ) {
    super(message);
  }
}
