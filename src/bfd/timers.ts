// BFD timer arithmetic (RFC 5880 §6.8.2–§6.8.4, §6.8.7), as pure functions of the session
// variables so the negotiation can be tested without clocks. All values are microseconds, the
// unit of the wire format.

/** §6.8.3: while the session is not Up, DesiredMinTxInterval MUST be at least one second. */
export const SLOW_TX_US = 1_000_000;

/**
 * §6.8.2/§6.8.7: the interval at which we send, before jitter: the slower of what we want to send
 * at and what the remote says it can receive. 0 when the remote asked for no packets at all
 * (RequiredMinRxInterval 0), in which case we must not transmit periodically.
 */
export function transmitIntervalUs(localDesiredMinTxUs: number, remoteMinRxUs: number): number {
  if (remoteMinRxUs === 0) return 0;
  return Math.max(localDesiredMinTxUs, remoteMinRxUs);
}

/**
 * §6.8.4, asynchronous mode: the remote's detect multiplier times the slower of what we are
 * willing to receive and the rate the remote says it sends at.
 */
export function detectionTimeUs(remoteDetectMult: number, localRequiredMinRxUs: number, remoteDesiredMinTxUs: number): number {
  return remoteDetectMult * Math.max(localRequiredMinRxUs, remoteDesiredMinTxUs);
}

/**
 * §6.8.7: each periodic transmission is jittered to 75–100 % of the interval, or 75–90 % when our
 * detect multiplier is 1 (so a single packet always arrives before the remote's detection time).
 * `random` is in [0, 1).
 */
export function jitteredIntervalUs(intervalUs: number, localDetectMult: number, random: number): number {
  const span = localDetectMult === 1 ? 0.15 : 0.25;
  return Math.floor(intervalUs * (0.75 + span * random));
}
