// Typed errors of the BFD module. Only programming and configuration mistakes throw; packets from
// the network never do (they are dropped and counted, see packet.ts), and socket failures are
// logged and retried by the transport.

/** A field given to the encoder does not fit its wire width. */
export class BfdEncodeError extends Error {
  constructor(
    readonly field: string,
    readonly value: number,
    readonly allowed: string,
  ) {
    super(`BFD encode: ${field}=${value} outside ${allowed}`);
    this.name = 'BfdEncodeError';
  }
}

/** A BfdPeerConfig handed to setPeers() is unusable; nothing of that call was applied. */
export class BfdConfigError extends Error {
  constructor(
    readonly peer: string,
    readonly field: string,
    readonly value: unknown,
    readonly problem: string,
  ) {
    super(`BFD peer ${peer}: ${field}=${JSON.stringify(value)} ${problem}`);
    this.name = 'BfdConfigError';
  }
}

/**
 * A socket meant for another network namespace could not be created while inside it: dgram did
 * not bind synchronously (see transport.ts), so the descriptor would land in our own namespace.
 */
export class BfdNamespaceError extends Error {
  constructor(
    readonly netns: string,
    readonly address: string,
  ) {
    super(`BFD: socket for ${address} was not created synchronously inside network namespace ${netns}`);
    this.name = 'BfdNamespaceError';
  }
}
