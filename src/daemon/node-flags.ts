// The Node/V8 flags the daemon runs with: the lab starts every daemon with them, and
// deploy/Dockerfile's ENTRYPOINT carries the same (a unit test holds the two together).
//
// --max-semi-space-size=2: V8 grows the young generation's semi-spaces up to 16 MiB for
// allocation-heavy throughput, which a node agent that mostly waits does not need; the reserved
// heap stays with the process for good. Measured with weft bench scale (5000 remote nodes),
// alternating runs in one sitting: RSS at ready 131–142 MB without → 111–112 MB with (V8 heap
// reserved 69–79 → 45–46 MB), start → ready within the run-to-run noise (1.45–1.85 s vs
// 1.52–1.58 s); weft bench bgp-ingest (1M prefixes) 0.97× BIRD's time with it, 1.01× without.
export const DAEMON_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=2'];
