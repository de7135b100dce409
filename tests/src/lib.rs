//! End-to-end scenarios for Whittle. The fleet harness (a coordinator and many
//! agents over real mTLS on loopback) lands here with the coordinator; the
//! command-line scenarios of the standalone agent live in `agent/tests/`.
