// Named errors of the DNS module.

/** Even with no App the entries exceed the budget (too many Spaces or foreign keys): nothing is written. */
export class DnsTooLargeError extends Error {
  override readonly name = 'DnsTooLargeError';
  readonly bytes: number;
  readonly limit: number;

  constructor(bytes: number, limit: number) {
    super(
      `the CoreDNS entries need ${bytes} bytes but the ConfigMap has room for ${limit}: ` +
        'remove Spaces or other keys of the ConfigMap; the last written entries stay in place',
    );
    this.bytes = bytes;
    this.limit = limit;
  }
}
