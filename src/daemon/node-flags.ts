// The Node/V8 flags the daemon runs with: the lab starts every daemon with them, and
// deploy/Dockerfile's ENTRYPOINT carries the same (a unit test holds the two together).
//
// None today. --max-semi-space-size=2 (a small young generation) was tried on 2026-12-07: with
// 5000 remote nodes RSS at ready fell from 131–147 MB to 109–120 MB, with less GC time until ready;
// but a 200 000-prefix BGP table then took 10.1–11.7 s to install instead of 8.1–8.8 s, and 7.0–7.4 s
// to withdraw instead of 4.3–6.4 s (two alternating pairs, test/e2e/hostile-bgp-full-table), and a
// full CI run saw BFD (300 ms × 3) declare that path down once. A routing daemon's speed and its
// margin against a BFD-visible stall come before 25 MB.
export const DAEMON_NODE_FLAGS: readonly string[] = [];
